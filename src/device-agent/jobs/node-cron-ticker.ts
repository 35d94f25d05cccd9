import type { Ticker } from './cron-scheduler.js';
import { errorMessage } from '../../common/errors.js';

/**
 * The project's ticker: node-cron firing every second. It only wakes the scheduler; which slot runs is the
 * ledger's decision (see cron-scheduler.ts for why node-cron must not decide). One task for all CronJobs
 * keeps the agent's footprint flat however many CronJobs a device has. node-cron is loaded with the first
 * CronJob, not with the agent: most devices have none.
 */
export const nodeCronTicker: Ticker = (onTick) => {
  let stopped = false;
  let destroy: (() => void) | undefined;
  void import('node-cron').then(({ default: cron }) => {
    if (stopped) return;
    // A late tick is not node-cron's to report: the ledger sees the slot and decides (missed or on time).
    // UTC: a ticker that fires every second fires at the same instants in any zone, and in the agent's
    // bundle node-cron reads UTC's wall clock without ICU (cron-intl.ts: ~8 MB less resident memory).
    const task = cron.schedule('* * * * * *', () => onTick(), { name: 'edgepilot-cron-ticker', timezone: 'UTC', noOverlap: false, suppressMissedWarning: true });
    destroy = () => void task.destroy();
  }, (err: unknown) => process.emitWarning(`CronJobs cannot be scheduled: node-cron did not load: ${errorMessage(err)}`));
  return () => {
    stopped = true;
    destroy?.();
  };
};
