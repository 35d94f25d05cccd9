import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, chmod, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/log.js';
import type { DesiredInstance } from '../../protocol/index.js';
import { configEnv, filesHash, usesConfigs, volumeFiles, type ValuesLookup, type VolumeFiles } from './config-plan.js';

/** Where files go: ConfigMaps in the state folder, Secrets in a tmpfs (gone at power-off) where there is one. */
export interface ConfigRoots {
  configDir: string;
  secretDir: string;
  /** false when no tmpfs was found and Secrets are under the state folder (said once at start). */
  secretsOnTmpfs: boolean;
}

/** The first of /dev/shm and /run that is a writable tmpfs (from /proc/mounts), else the state folder. */
export async function configRoots(stateDir: string, mountsText?: string): Promise<ConfigRoots> {
  const configDir = join(stateDir, 'configs');
  const mounts = mountsText ?? (await readFile('/proc/mounts', 'utf8').catch(() => ''));
  const tmpfs = new Set(mounts.split('\n').flatMap((line) => {
    const [, mountPoint, type] = line.split(' ');
    return type === 'tmpfs' && mountPoint ? [mountPoint] : [];
  }));
  // One folder per agent (several agents may share a host in tests and benches).
  const tag = createHash('sha256').update(stateDir).digest('hex').slice(0, 12);
  for (const candidate of ['/dev/shm', '/run']) {
    if (!tmpfs.has(candidate)) continue;
    try {
      // Only checked here: the folder is made (0700) when the first Secret is written.
      await access(candidate, constants.W_OK);
      return { configDir, secretDir: join(candidate, `edgepilot-${tag}`, 'secrets'), secretsOnTmpfs: true };
    } catch {
      // not writable for this user: try the next
    }
  }
  return { configDir, secretDir: join(stateDir, 'secrets'), secretsOnTmpfs: false };
}

/** Writes `bytes` to `path` by a rename from a temporary file beside it: a reader sees the old file or the new one. */
async function replaceFile(path: string, bytes: Buffer, mode: number): Promise<boolean> {
  const current = await readFile(path).catch(() => undefined);
  const currentMode = current ? (await stat(path)).mode & 0o777 : undefined;
  if (current?.equals(bytes) && currentMode === mode) return false;
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', mode);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temporary, mode); // the umask may have narrowed it
  await rename(temporary, path);
  return true;
}

/**
 * Materialises an instance's ConfigMap and Secret volumes as files and resolves its env, before
 * the runtime sees it: the instance the runtime gets has plain host-path volumes (read-only) and
 * plain env. Updates rewrite only changed files, each atomically.
 */
export class ConfigFiles {
  /** Instance id → hash of the files last written for it. */
  readonly written = new Map<string, string>();
  /** Instance id → the names of its variables that came from a Secret. */
  private readonly secretEnv = new Map<string, Set<string>>();

  constructor(
    private readonly roots: ConfigRoots,
    private readonly lookup: ValuesLookup,
    private readonly log: Logger,
  ) {}

  private folder(kind: VolumeFiles['kind'], instanceId: string, volume: string): string {
    return join(kind === 'Secret' ? this.roots.secretDir : this.roots.configDir, instanceId, volume);
  }

  /**
   * The hash the files of each instance should have now, and the instances whose objects (or keys)
   * are not here: those keep running as they are (a deleted ConfigMap does not stop its users), and a
   * start of one fails with the reason until the hub sends what it needs.
   */
  wanted(instances: readonly DesiredInstance[]): { wanted: Map<string, string>; unresolved: Set<string> } {
    const wanted = new Map<string, string>();
    const unresolved = new Set<string>();
    for (const i of instances) {
      if (!usesConfigs(i.template)) continue;
      try {
        configEnv(i.template, this.lookup);
        const files = volumeFiles(i.template, this.lookup);
        if (files.length > 0) wanted.set(i.id, filesHash(files));
      } catch {
        unresolved.add(i.id);
      }
    }
    return { wanted, unresolved };
  }

  /** Writes the instance's files; true when any file changed. */
  async update(instance: DesiredInstance): Promise<boolean> {
    const volumes = volumeFiles(instance.template, this.lookup);
    let changed = false;
    for (const v of volumes) {
      const dir = this.folder(v.kind, instance.id, v.volume);
      await mkdir(dir, { recursive: true, mode: v.kind === 'Secret' ? 0o700 : 0o755 });
      const names = new Set(v.files.map((f) => f.name));
      for (const f of v.files) changed = (await replaceFile(join(dir, f.name), Buffer.from(f.base64, 'base64'), f.mode)) || changed;
      // A key gone from the object is gone from the folder.
      for (const name of await readdir(dir)) {
        if (!names.has(name)) {
          await rm(join(dir, name), { force: true });
          changed = true;
        }
      }
    }
    this.written.set(instance.id, filesHash(volumes));
    return changed;
  }

  /** The instance as its runtime must see it: files written, volumes as host paths, env resolved. */
  async decorate(instance: DesiredInstance): Promise<DesiredInstance> {
    if (!usesConfigs(instance.template)) return instance;
    await this.update(instance);
    const { env, skipped, fromSecret } = configEnv(instance.template, this.lookup);
    this.secretEnv.set(instance.id, fromSecret);
    if (skipped.length > 0) this.log.warn(`${instance.id}: envFrom keys that are not variable names were skipped: ${skipped.join(', ')}`);
    const volumes = instance.template.volumes.map((v) => {
      if (v.configMap === undefined && v.secret === undefined) return v;
      return { name: v.name, mountPath: v.mountPath, readOnly: true, hostPath: this.folder(v.secret !== undefined ? 'Secret' : 'ConfigMap', instance.id, v.name) };
    });
    const { envFrom: _envFrom, valueFrom: _valueFrom, ...template } = instance.template;
    return { ...instance, template: { ...template, env, volumes } };
  }

  /** Variables of the instance that came from a Secret (runtimes keep them off disk where they can). */
  privateEnv(instanceId: string): ReadonlySet<string> {
    return this.secretEnv.get(instanceId) ?? new Set();
  }

  /** The instance's files are removed once it is no longer desired here. */
  async remove(instanceId: string): Promise<void> {
    this.written.delete(instanceId);
    this.secretEnv.delete(instanceId);
    await rm(join(this.roots.configDir, instanceId), { recursive: true, force: true });
    await rm(join(this.roots.secretDir, instanceId), { recursive: true, force: true });
  }

  /** Folders of instances that are not desired (after an agent restart, say). */
  async strays(desiredIds: ReadonlySet<string>): Promise<string[]> {
    const ids = new Set<string>();
    for (const root of [this.roots.configDir, this.roots.secretDir]) for (const name of await readdir(root).catch(() => [])) if (!desiredIds.has(name)) ids.add(name);
    return [...ids];
  }
}
