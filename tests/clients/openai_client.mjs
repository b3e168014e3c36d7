// The official OpenAI Node client against llm2vec-server's /v1/embeddings.
// Usage: node openai_client.mjs HTTP_PORT TEXT...
// Prints {"default", "float", "dims16", "base64"}: the embeddings of TEXT...
// as the client returns them (its default asks for base64 and decodes it).
import OpenAI from "openai";

const [port, ...texts] = process.argv.slice(2);
const client = new OpenAI({ apiKey: "unused", baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
const vectors = (response) => response.data.map((d) => d.embedding);

const base = { model: "stories260K", input: texts };
const out = {
  default: vectors(await client.embeddings.create(base)),
  float: vectors(await client.embeddings.create({ ...base, encoding_format: "float" })),
  dims16: vectors(await client.embeddings.create({ ...base, dimensions: 16 })),
};
// Asked for base64 itself, the client hands the string over undecoded.
const raw = await client.embeddings.create({ ...base, encoding_format: "base64" });
out.base64 = raw.data.map((d) => {
  const bytes = Buffer.from(d.embedding, "base64");
  return Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4));
});
out.usage = raw.usage;
process.stdout.write(JSON.stringify(out));
