/**
 * An image archive holding the spec-tests' probe, built from the project's own files, that every
 * engine here imports: an OCI layout (oci-layout, index.json, blobs) with a docker-archive
 * manifest.json beside it. No registry is involved.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const IMAGE_NAME = 'docker.io/library/tsrun-probe:latest';
/** The same probe, with the image's config naming a user (engines without a user flag take it from there). */
export const USER_IMAGE_NAME = 'docker.io/library/tsrun-probe-user:latest';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Writes the archive (a tar of the OCI layout) to out. */
export function buildProbeImage(probe: string, out: string): void {
  const work = mkdtempSync(join(tmpdir(), 'tsrun-image-'));
  try {
    const rootfs = join(work, 'rootfs');
    for (const dir of ['etc', 'tmp', 'dev', 'proc', 'sys', 'data']) mkdirSync(join(rootfs, dir), { recursive: true });
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    copyFileSync(probe, join(rootfs, 'probe'));
    chmodSync(join(rootfs, 'probe'), 0o755);
    writeFileSync(
      join(rootfs, 'etc', 'passwd'),
      'root:x:0:0:root:/:/probe\nprobe:x:1000:1000:probe:/tmp:/probe\nnobody:x:65534:65534:nobody:/:/probe\n',
    );
    writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nprobe:x:1000:\nnogroup:x:65534:\n');
    const layerTar = join(work, 'layer.tar');
    execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '--sort=name', '-C', rootfs, '-cf', layerTar, '.']);
    const tar = readFileSync(layerTar);
    const layer = gzipSync(tar);
    const layout = join(work, 'layout');
    mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
    const blob = (data: Buffer) => {
      writeFileSync(join(layout, 'blobs', 'sha256', sha256(data)), data);
      return `blobs/sha256/${sha256(data)}`;
    };
    blob(layer);
    const images = [
      { name: IMAGE_NAME, user: undefined },
      { name: USER_IMAGE_NAME, user: '1000:1000' },
    ].map(({ name, user }) => {
      const config = Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Cmd: ['/probe'], Env: ['PATH=/'], WorkingDir: '/', ...(user && { User: user }) },
          rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
        }),
      );
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(config)}`, size: config.length },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(layer)}`, size: layer.length }],
        }),
      );
      blob(manifest);
      return { name, config: blob(config), manifest };
    });
    writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(
      join(layout, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: images.map((image) => ({
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${sha256(image.manifest)}`,
          size: image.manifest.length,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: { 'io.containerd.image.name': image.name, 'org.opencontainers.image.ref.name': 'latest' },
        })),
      }),
    );
    // Docker (20.10) loads the docker-archive form: manifest.json, beside the OCI layout.
    writeFileSync(
      join(layout, 'manifest.json'),
      JSON.stringify(images.map((image) => ({ Config: image.config, RepoTags: [image.name], Layers: [blob(layer)] }))),
    );
    execFileSync('tar', ['-C', layout, '-cf', out, '.']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
