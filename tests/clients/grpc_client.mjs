// Node's official gRPC stack (@grpc/grpc-js + @grpc/proto-loader) against
// llm2vec-server, from the .proto files alone.
// Usage: node grpc_client.mjs GRPC_PORT TEXT...
// Prints {"health", "info", "embed", "stream", "similarity", "tokenize"}.
import { fileURLToPath } from "node:url";
import path from "node:path";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const here = path.dirname(fileURLToPath(import.meta.url));
const [port, ...texts] = process.argv.slice(2);
const options = { keepCase: true, longs: Number, enums: String, defaults: true };
const embedding = grpc.loadPackageDefinition(
  protoLoader.loadSync(path.join(here, "../../proto/llm2vec/v1/embedding.proto"), options));
const health = grpc.loadPackageDefinition(
  protoLoader.loadSync(path.join(here, "../../proto/grpc/health/v1/health.proto"), options));
const address = `127.0.0.1:${port}`;
const credentials = grpc.credentials.createInsecure();
const service = new embedding.llm2vec.v1.EmbeddingService(address, credentials);
const checker = new health.grpc.health.v1.Health(address, credentials);

const unary = (client, method, request) =>
  new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 30000);
    client[method](request, { deadline }, (err, response) => (err ? reject(err) : resolve(response)));
  });
const inputs = texts.map((text) => ({ text }));
const values = (response) => response.embeddings.map((e) => e.values);

const out = {};
out.health = (await unary(checker, "Check", { service: "" })).status;
out.info = await unary(service, "Info", {});
out.embed = values(await unary(service, "Embed", { inputs }));
// One request per text on one stream; answers in request order.
out.stream = await new Promise((resolve, reject) => {
  const call = service.EmbedStream({ deadline: new Date(Date.now() + 30000) });
  const answers = [];
  call.on("data", (response) => answers.push(values(response)[0]));
  call.on("error", reject);
  call.on("end", () => resolve(answers));
  for (const text of texts) call.write({ inputs: [{ text }], request_id: text });
  call.end();
});
out.similarity = (await unary(service, "Similarity", {
  query: inputs[0], candidates: inputs.slice(1), top_k: 1,
}));
out.tokenize = (await unary(service, "Tokenize", { inputs: [inputs[0]], add_special_tokens: true }))
  .tokens[0];
// A refusal carries its status code and message through.
try {
  await unary(service, "Embed", { inputs: [] });
  out.empty = "accepted";
} catch (err) {
  out.empty = { code: err.code, details: err.details };
}
service.close();
checker.close();
process.stdout.write(JSON.stringify(out));
