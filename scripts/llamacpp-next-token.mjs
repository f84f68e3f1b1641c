// llama.cpp's next-token distribution after a token sequence, through node-llama-cpp (CPU).
// usage: node scripts/llamacpp-next-token.mjs MODEL.gguf 1,2,3   (NODE_PATH: node_modules holding node-llama-cpp)
// prints {"probs": {"token id": probability, ...}} for every token of the vocabulary.
import {createRequire} from "node:module";
import {pathToFileURL} from "node:url";

const require = createRequire(pathToFileURL(process.cwd() + "/"));
const {getLlama} = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);
const [, , modelPath, csv] = process.argv;
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath});
const context = await model.createContext({contextSize: 128});
const tokens = csv.split(",").map(Number);
const step = await context.getSequence().evaluateWithMetadata(tokens, {probabilities: true}, {temperature: 0}).next();
const probs = {};
for (const [t, p] of step.value.probabilities) probs[t] = p;
console.log(JSON.stringify({probs}));
process.exit(0);
