// Recordings leave the node: S3 uploads after each session (RTCGW_RECORDINGS_BUCKET), leftovers at start.
export { type RecordingObjects, recordingObjects } from "./keys.js";
export { uploadLeftovers } from "./leftovers.js";
export { RecordingUploader, s3ClientFromEnv } from "./uploader.js";
