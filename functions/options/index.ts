// Lambda function "options": CORS preflight on every resource. Needs no registry or config.
import { optionsHandler } from "../../src/signaling/options.js";

export const handler = optionsHandler();
