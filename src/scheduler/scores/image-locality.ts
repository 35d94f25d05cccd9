// ImageLocality: prefer devices that already hold the image, so a replica starts without a
// pull over a slow uplink. Kubernetes scales by image size and by how many nodes hold it;
// facts carry no sizes, so a present image scores 100 × the share of candidate devices that
// hold it (see context.ts). The fleet keeps an image → devices index, so a workload touches
// only the devices that hold its image.

/** `nginx` → `nginx:latest`; `docker.io/library/nginx:1` → `nginx:1` (as the Docker CLI resolves names). */
export function normalizeImage(ref: string): string {
  let name = ref.trim();
  if (name.startsWith('docker.io/library/')) name = name.slice('docker.io/library/'.length);
  else if (name.startsWith('docker.io/')) name = name.slice('docker.io/'.length);
  if (name.includes('@')) return name;
  const lastSlash = name.lastIndexOf('/');
  return name.indexOf(':', lastSlash + 1) === -1 ? `${name}:latest` : name;
}
