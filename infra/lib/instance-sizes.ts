// vCPUs of an instance type, from its size: `rtcgw node` runs one worker per vCPU, each with its own
// UDP and control port and its own capacity, so the stack must know the count to open the ports
// and to set the capacity per worker. The sizes below are the same on every current family
// (Graviton c6g/c7g/c8g/m7g, Intel/AMD c7i/c7a …); a type outside them needs `vcpus` in the props.
const VCPUS_BY_SIZE: Record<string, number> = {
  medium: 1,
  large: 2,
  xlarge: 4,
  "2xlarge": 8,
  "4xlarge": 16,
  "8xlarge": 32,
};

export function vcpusOf(instanceType: string): number {
  const size = instanceType.split(".")[1] ?? "";
  const n = VCPUS_BY_SIZE[size];
  if (n === undefined)
    throw new Error(
      `media node: cannot tell the vCPUs of ${instanceType}: give mediaNode.vcpus (RTCGW_NODE_VCPUS) in the stack props`,
    );
  return n;
}
