// Text-embeddings-inference clients against llm2vec-server: Hugging Face's
// own JS client (@huggingface/inference) pointed at the server's /embed and
// /similarity, as one points it at a TEI deployment, and plain fetch with
// the requests of TEI's documented examples for the routes that client
// lacks. Usage: node tei_client.mjs HTTP_PORT TEXT...
// Prints {"info", "health", "embed", "hf_embed", "hf_similarity",
// "embed_all_tokens", "similarity", "tokenize", "decode", "bad_prompt"}.
import { InferenceClient } from "@huggingface/inference";

const [port, ...texts] = process.argv.slice(2);
const url = (route) => `http://127.0.0.1:${port}${route}`;
const post = async (route, body) => {
  const response = await fetch(url(route), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
};

const out = {};
out.info = await (await fetch(url("/info"))).json();
out.health = (await fetch(url("/health"))).status;
out.embed = (await post("/embed", { inputs: texts })).body;
out.hf_embed = await new InferenceClient(undefined, { endpointUrl: url("/embed") })
  .featureExtraction({ inputs: texts });
out.hf_similarity = await new InferenceClient(undefined, { endpointUrl: url("/similarity") })
  .sentenceSimilarity({ inputs: { source_sentence: texts[0], sentences: texts.slice(1) } });
const all = (await post("/embed_all", { inputs: texts[0] })).body;
out.embed_all_tokens = all[0].length;
out.similarity = (await post("/similarity", {
  inputs: { source_sentence: texts[0], sentences: texts.slice(1) },
})).body;
out.tokenize = (await post("/tokenize", { inputs: texts[0] })).body[0];
out.decode = (await post("/decode", { ids: out.tokenize.map((t) => t.id) })).body[0];
out.bad_prompt = await post("/embed", { inputs: texts[0], prompt_name: "nope" });
process.stdout.write(JSON.stringify(out));
