// Where each AWS service is reached. The region is always required (a deployment that forgot
// AWS_REGION must fail here, as it would on EC2, even in the local rehearsal); the endpoint may be
// pointed elsewhere with the variables the AWS SDKs and CLI read (AWS_ENDPOINT_URL_<SERVICE>),
// which is how the deploy rehearsal reaches its stand-ins on loopback.
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html

export type AwsService = "secretsmanager" | "monitoring" | "autoscaling" | "s3" | "dynamodb";

/** the service-specific override variable, as the SDKs name it */
export const ENDPOINT_ENV: Record<AwsService, string> = {
  secretsmanager: "AWS_ENDPOINT_URL_SECRETS_MANAGER",
  monitoring: "AWS_ENDPOINT_URL_CLOUDWATCH",
  autoscaling: "AWS_ENDPOINT_URL_AUTO_SCALING",
  s3: "AWS_ENDPOINT_URL_S3",
  dynamodb: "AWS_ENDPOINT_URL_DYNAMODB",
};

export class NoRegionError extends Error {
  override name = "NoRegionError";
  constructor(what: string) {
    super(`${what}: no region — set AWS_REGION (or AWS_DEFAULT_REGION)`);
  }
}

export function awsRegion(what: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!r) throw new NoRegionError(what);
  return r;
}

/** the endpoint override for `service`, if any */
export function endpointOverride(
  service: AwsService,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const v = env[ENDPOINT_ENV[service]];
  return v && v.trim() !== "" ? v.trim() : undefined;
}

/** the service's endpoint in `region`, or its override */
export function awsEndpoint(
  service: AwsService,
  region: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  return endpointOverride(service, env) ?? `https://${service}.${region}.amazonaws.com`;
}
