// llama.cpp's next-token distribution after each of several token sequences, through node-llama-cpp (CPU).
// usage: node scripts/llamacpp-next-token.mjs MODEL.gguf 1,2,3[;4,5,6...] [KV_TYPE]
//   run from a folder whose node_modules holds node-llama-cpp.
//   KV_TYPE: omitted, llama.cpp's defaults (F16 KV cache, flash attention "auto"); F32, an F32 KV cache
//   with flash attention off, so that attention runs in F32 throughout (the F16 cache's flash attention
//   rounds queries to F16 and accumulates the values in F16).
// prints {"logprobs": [[log p(token 0), log p(token 1), ...], ...]}, one row per sequence, each sequence
// evaluated from an empty context.
import {createRequire} from "node:module";
import {pathToFileURL} from "node:url";

const require = createRequire(pathToFileURL(process.cwd() + "/"));
const {getLlama} = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);
const [, , modelPath, lists, kvType] = process.argv;
if (!modelPath || !lists) {
    console.error("usage: node llamacpp-next-token.mjs MODEL.gguf 1,2,3[;4,5,6...] [F32]");
    process.exit(2);
}
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
const options = {contextSize: 128};
if (kvType) {
    options.experimentalKvCacheKeyType = kvType;
    options.experimentalKvCacheValueType = kvType;
    options.flashAttention = false;
}
const context = await model.createContext(options);
const sequence = context.getSequence();
const vocab = model.tokens.count ?? model.fileInsights.vocabularySize;
const logprobs = [];
for (const list of lists.split(";")) {
    await sequence.clearHistory();
    const tokens = list.split(",").map(Number);
    const step = await sequence.evaluateWithMetadata(tokens, {probabilities: true}, {temperature: 0, yieldEogToken: true}).next();
    const row = new Array(vocab).fill(null);
    for (const [t, p] of step.value.probabilities) row[t] = Math.log(p);
    if (row.includes(null)) throw new Error(`llama.cpp returned no probability for some of the ${vocab} tokens`);
    logprobs.push(row);
}
console.log(JSON.stringify({logprobs}));
process.exit(0);
