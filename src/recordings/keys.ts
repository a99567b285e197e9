// Where a session's recording lands in the bucket: <prefix><sessionId>.wav / .ogg. Known before the
// call ends, so the session status can carry the object keys while the session is live.
export interface RecordingObjects {
  bucket: string;
  wav: string;
  ogg: string;
}

export function recordingObjects(bucket: string, prefix: string, sessionId: string): RecordingObjects {
  return { bucket, wav: `${prefix}${sessionId}.wav`, ogg: `${prefix}${sessionId}.ogg` };
}
