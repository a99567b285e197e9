// Lambda function "whep": its routes are in src/signaling/routes.ts; the logic is in src/signaling/.
import { signalingHandler } from "../../src/signaling/dispatch.js";

export const handler = signalingHandler("whep");
