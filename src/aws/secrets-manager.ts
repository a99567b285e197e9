// A secret's value from Secrets Manager (GetSecretValue), read at run time: the node at start, a
// function at its first invocation (then cached for the instance's life). Never written to disk.
import { AwsClient } from "./signed-request.js";

export async function getSecretString(
  secretId: string,
  client = new AwsClient("secretsmanager"),
): Promise<string> {
  const out = await client.json<{ SecretString?: string }>("secretsmanager.GetSecretValue", {
    SecretId: secretId,
  });
  if (typeof out.SecretString !== "string" || out.SecretString === "")
    throw new Error(`Secrets Manager: ${secretId} has no SecretString`);
  return out.SecretString;
}
