// A real S3 implementation for a test file (s3rver, in this process): its buckets, its port, and
// a listing of a bucket's keys as S3's ListObjectsV2 answers it.
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const S3rver = createRequire(import.meta.url)("s3rver");

export interface S3Server {
  port: number;
  url: string;
  keys(bucket: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startS3Server(buckets: string[]): Promise<S3Server> {
  const s3 = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: mkdtempSync(join(tmpdir(), "rtcgw-s3-")),
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = (await s3.run()) as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    port,
    url,
    async keys(bucket) {
      const list = await (await fetch(`${url}/${bucket}?list-type=2`)).text();
      return [...list.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!);
    },
    close: () => s3.close(),
  };
}
