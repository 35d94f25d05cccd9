import type Dockerode from 'dockerode';
import type { ExecResult, LogLine, LogOptions } from '../runtime.js';
import { destroyStream } from './die-events.js';
import { DockerLogDecoder } from './log-frames.js';
import { errorMessage } from '../../../common/errors.js';

/** A pull that failed or was cancelled; its message names the image and says why. */
export class ImagePullError extends Error {
  readonly code = 'ImagePullFailed';
}

const toBuffer = (chunk: string | Buffer): Buffer => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk);

/** Lines of a container's log; following ends when Docker closes the stream (the container stopped) or the signal aborts. */
export async function* containerLogLines(container: Dockerode.Container, options: LogOptions): AsyncGenerator<LogLine> {
  const { signal } = options;
  if (signal?.aborted) return;
  const decoder = new DockerLogDecoder(true);
  const base = {
    stdout: true,
    stderr: true,
    timestamps: true,
    ...(options.tail !== undefined ? { tail: options.tail } : {}),
    ...(signal !== undefined ? { abortSignal: signal } : {}),
  };
  if (options.follow !== true) {
    const body: unknown = await container.logs({ ...base, follow: false });
    // The modem hands back a Buffer, or a string/object if the body happened to look like JSON.
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    yield* decoder.push(bytes);
    yield* decoder.end();
    return;
  }
  const stream = await container.logs({ ...base, follow: true });
  const onAbort = (): void => destroyStream(stream);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) yield* decoder.push(toBuffer(chunk));
  } catch (err) {
    if (signal?.aborted !== true) throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Also reached when the consumer stops iterating early: release the HTTP stream.
    destroyStream(stream);
  }
  if (signal?.aborted !== true) yield* decoder.end();
}

/** Output beyond this is dropped: probe output is for humans and must not grow the agent's memory. */
const MAX_EXEC_OUTPUT = 64 * 1024;

/**
 * `docker exec` with stdout and stderr captured (in arrival order) and a deadline. On timeout the
 * call fails; Docker has no API to kill an exec'd process, so it may run on inside the container.
 */
export async function execInContainer(container: Dockerode.Container, command: string[], timeoutMs: number): Promise<ExecResult> {
  const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const decoder = new DockerLogDecoder(false);
  let output = '';
  const append = (lines: LogLine[]): void => {
    for (const line of lines) if (output.length < MAX_EXEC_OUTPUT) output += `${line.text}\n`;
  };
  let timer: NodeJS.Timeout | undefined;
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => append(decoder.push(chunk)));
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  // After a timeout the destroyed stream may still report an error that nobody awaits.
  finished.catch(() => undefined);
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  try {
    if ((await Promise.race([finished, timedOut])) === 'timeout') {
      destroyStream(stream);
      throw new Error(`exec ${JSON.stringify(command)} timed out after ${timeoutMs} ms`);
    }
  } finally {
    clearTimeout(timer);
  }
  append(decoder.end());
  // The stream can close a moment before the daemon records the exit code.
  for (let attempt = 0; ; attempt++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return { exitCode: info.ExitCode, output: output.slice(0, MAX_EXEC_OUTPUT) };
    if (attempt >= 50) throw new Error(`exec ${JSON.stringify(command)} finished but Docker reports no exit code`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Pulls an image, following the progress stream to its end: the pull is only done when the
 * daemon closes it, and failures (unknown tag, auth, network) arrive inside it as `error` lines.
 * Progress is reported when a layer's status changes, not on every byte count update.
 */
export async function pullImage(docker: Dockerode, image: string, signal: AbortSignal, onProgress?: (message: string) => void): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.pull(image, { abortSignal: signal })) as NodeJS.ReadableStream;
  } catch (err) {
    throw new ImagePullError(`pulling ${image} failed: ${errorMessage(err)}`);
  }
  const onAbort = (): void => destroyStream(stream);
  signal.addEventListener('abort', onAbort, { once: true });
  const lastStatus = new Map<string, string>();
  let pending = '';
  try {
    for await (const chunk of stream) {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const message = JSON.parse(line) as { status?: unknown; id?: unknown; error?: unknown };
        if (typeof message.error === 'string') throw new ImagePullError(`pulling ${image} failed: ${message.error}`);
        if (typeof message.status !== 'string') continue;
        const layer = typeof message.id === 'string' ? message.id : '';
        if (lastStatus.get(layer) === message.status) continue;
        lastStatus.set(layer, message.status);
        onProgress?.(layer === '' ? message.status : `${layer}: ${message.status}`);
      }
    }
  } catch (err) {
    if (signal.aborted) throw new ImagePullError(`pulling ${image} was cancelled`);
    if (err instanceof ImagePullError) throw err;
    throw new ImagePullError(`pulling ${image} failed: ${errorMessage(err)}`);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  if (signal.aborted) throw new ImagePullError(`pulling ${image} was cancelled`);
}
