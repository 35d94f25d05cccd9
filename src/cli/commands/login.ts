import { Command } from 'commander';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { ensureDir, writeFileDurably } from '../../common/durable-file.js';
import { defaultCliConfigPath } from '../../common/paths.js';
import { HubTrustError, fetchPinnedHubCa } from '../../common/tls-trust.js';
import { CA_FINGERPRINT_PATTERN } from '../../protocol/index.js';
import type { GlobalFlags } from '../config.js';
import { CliError } from '../errors.js';
import { print } from '../context.js';

/**
 * Points the CLI at a hub: checks the hub's CA against the fingerprint the operator was given
 * (the hub prints it at start), then keeps hub URL, token and CA in the config file, like a
 * kubeconfig's certificate-authority-data. From then on the hub is verified against that CA only.
 */
export function loginCommand(): Command {
  return new Command('login')
    .description("Trust a hub's CA (checked against its fingerprint) and keep hub, token and CA in the CLI config")
    .option('--ca-fingerprint <sha256>', "the hub CA's fingerprint (64 hex digits), as 'edgepilot hub' prints it")
    .addHelpText(
      'after',
      `
Writes ~/.config/edgepilot/config.yaml (or --config). Uses the global --hub and --token.

Examples:
  edgepilot login --hub https://hub.plant-3:7080 --token ep_… --ca-fingerprint 3f9a…e1`,
    )
    .action(async (options: { caFingerprint?: string }, command: Command) => {
      const flags = command.optsWithGlobals<GlobalFlags>();
      if (!flags.hub) throw new CliError('login needs --hub <url>');
      const hub = flags.hub.replace(/\/+$/, '');
      let url: URL;
      try {
        url = new URL(hub);
      } catch {
        throw new CliError(`--hub: "${hub}" is not a URL`);
      }
      let ca: string | undefined;
      if (url.protocol === 'https:') {
        const fingerprint = options.caFingerprint?.toLowerCase().replace(/^sha256:/, '').replace(/:/g, '');
        if (!fingerprint) throw new CliError('--ca-fingerprint is required for an https hub (the hub prints it when it starts)');
        if (!CA_FINGERPRINT_PATTERN.test(fingerprint)) throw new CliError('--ca-fingerprint: expected 64 hex digits (sha256)');
        try {
          ca = await fetchPinnedHubCa(hub, fingerprint);
        } catch (err) {
          if (err instanceof HubTrustError) throw new CliError(err.message);
          throw err;
        }
      } else if (url.protocol !== 'http:') throw new CliError('--hub: expected an http:// or https:// URL');
      const path = flags.config ?? defaultCliConfigPath();
      await ensureDir(dirname(path));
      await writeFileDurably(path, stringify({ apiVersion: 'edgepilot.io/v1', kind: 'Config', hub, ...(flags.token ? { token: flags.token } : {}), ...(ca ? { ca } : {}) }));
      print(`${path}: hub ${hub}${ca ? ', CA pinned' : ' (plain http: nothing to pin)'}${flags.token ? ', token kept' : ''}`);
    });
}
