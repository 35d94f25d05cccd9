import { Command } from 'commander';
import { applyCommand } from './commands/apply.js';
import { deleteCommand } from './commands/delete.js';
import { describeDeviceCommand } from './commands/describe-device.js';
import { describeWorkloadCommand } from './commands/describe-workload.js';
import { getWorkloadsCommand } from './commands/get-workloads.js';
import { logsCommand } from './commands/logs.js';
import { restartCommand } from './commands/restart.js';
import { topCommand } from './commands/top.js';
import { cordonCommand } from './commands/cordon.js';
import { uncordonCommand } from './commands/uncordon.js';
import { drainCommand } from './commands/drain.js';
import { getDevicesCommand } from './commands/get-devices.js';
import { labelDeviceCommand } from './commands/label-device.js';
import { tokenCreateCommand } from './commands/token-create.js';
import { loginCommand } from './commands/login.js';
import { tokenListCommand } from './commands/token-list.js';
import { tokenRevokeCommand } from './commands/token-revoke.js';
import { getMcusCommand } from './commands/get-mcus.js';
import { getHubsCommand } from './commands/get-hubs.js';
import { telemetryCommand } from './commands/telemetry.js';
import { flashCommand } from './commands/flash.js';
import { firmwareKeygenCommand } from './commands/firmware-keygen.js';
import { firmwarePushCommand } from './commands/firmware-push.js';
import { firmwareSignCommand } from './commands/firmware-sign.js';
import { firmwareListCommand } from './commands/firmware-list.js';
import { firmwareTrustCommand } from './commands/firmware-trust.js';
import { firmwareUntrustCommand } from './commands/firmware-untrust.js';
import { firmwareKeysCommand } from './commands/firmware-keys.js';
import { deviceApproveCommand } from './commands/device-approve.js';
import { deviceDenyCommand } from './commands/device-deny.js';
import { getJobsCommand } from './commands/get-jobs.js';
import { getCronJobsCommand } from './commands/get-cronjobs.js';
import { describeJobCommand } from './commands/describe-job.js';
import { describeCronJobCommand } from './commands/describe-cronjob.js';
import { createJobCommand } from './commands/create-job.js';
import { suspendCronJobCommand } from './commands/suspend-cronjob.js';
import { resumeCronJobCommand } from './commands/resume-cronjob.js';
import { releaseCreateCommand } from './commands/release-create.js';
import { getReleasesCommand } from './commands/get-releases.js';
import { getConfigMapsCommand, getSecretsCommand } from './commands/get-config-objects.js';
import { describeConfigMapCommand, describeSecretCommand } from './commands/describe-config-object.js';
import { getRolloutsCommand } from './commands/get-rollouts.js';
import { describeReleaseCommand } from './commands/describe-release.js';
import { getServicesCommand } from './commands/get-services.js';
import { describeServiceCommand } from './commands/describe-service.js';
import { rolloutStartCommand } from './commands/rollout-start.js';
import { rolloutStatusCommand } from './commands/rollout-status.js';
import { rolloutHistoryCommand } from './commands/rollout-history.js';
import { rolloutPauseCommand } from './commands/rollout-pause.js';
import { rolloutResumeCommand } from './commands/rollout-resume.js';
import { rolloutPromoteCommand } from './commands/rollout-promote.js';
import { rolloutAbortCommand } from './commands/rollout-abort.js';
import { rolloutUndoCommand } from './commands/rollout-undo.js';
import { auditCommand } from './commands/audit.js';

/** A verb that groups resource subcommands, like `kubectl get <resource>`. */
function verb(name: string, description: string, resources: Command[]): Command {
  const command = new Command(name).description(description);
  for (const resource of resources) command.addCommand(resource);
  return command;
}

/** The technician's commands; each lives in its own file under commands/. */
export function technicianCommands(): Command[] {
  return [
    applyCommand(),
    deleteCommand(),
    verb('get', 'List resources (devices, workloads, mcus, jobs, cronjobs, releases, rollouts, services, configmaps, secrets, hubs)', [getDevicesCommand(), getWorkloadsCommand(), getMcusCommand(), getJobsCommand(), getCronJobsCommand(), getReleasesCommand(), getRolloutsCommand(), getServicesCommand(), getConfigMapsCommand(), getSecretsCommand(), getHubsCommand()]),
    verb('describe', 'Show one resource in detail', [describeDeviceCommand(), describeWorkloadCommand(), describeJobCommand(), describeCronJobCommand(), describeReleaseCommand(), describeServiceCommand(), describeConfigMapCommand(), describeSecretCommand()]),
    verb('create', 'Create a resource from another (create job --from cronjob/<name>)', [createJobCommand()]),
    verb('suspend', 'Suspend a CronJob', [suspendCronJobCommand()]),
    verb('resume', 'Resume a suspended CronJob', [resumeCronJobCommand()]),
    verb('release', 'Create releases (immutable bundles of workload templates and MCU firmware)', [releaseCreateCommand()]),
    verb('rollout', 'Move devices to a release in waves, with health gates, rollback and maintenance windows', [
      rolloutStartCommand(),
      rolloutStatusCommand(),
      rolloutPauseCommand(),
      rolloutResumeCommand(),
      rolloutPromoteCommand(),
      rolloutAbortCommand(),
      rolloutUndoCommand(),
      rolloutHistoryCommand(),
    ]),
    logsCommand(),
    restartCommand(),
    topCommand(),
    cordonCommand(),
    uncordonCommand(),
    drainCommand(),
    verb('label', 'Change labels of a resource', [labelDeviceCommand()]),
    verb('device', 'Decide held re-joins of known boards (approve, deny)', [deviceApproveCommand(), deviceDenyCommand()]),
    verb('token', "Manage join tokens for registering devices, and people's API tokens with roles", [tokenCreateCommand(), tokenListCommand(), tokenRevokeCommand()]),
    verb('firmware', 'Sign, upload and list MCU firmware images', [
      firmwareKeygenCommand(),
      firmwareSignCommand(),
      firmwarePushCommand(),
      firmwareListCommand(),
      firmwareTrustCommand(),
      firmwareUntrustCommand(),
      firmwareKeysCommand(),
    ]),
    flashCommand(),
    telemetryCommand(),
    auditCommand(),
    loginCommand(),
  ];
}
