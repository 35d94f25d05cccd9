// The leader's side of the rollout requests made through hubs that do not lead
// (store/rollout-requests.ts): each is done by the leader's controller, then taken off the queue.
import type { Logger } from '../../common/log.js';
import type { RolloutCommand, RolloutSpec } from '../../protocol/index.js';
import { eventSubjects } from '../store/records.js';
import type { EventRepository } from '../store/repository.js';
import type { RolloutRequestQueue } from '../store/rollout-requests.js';
import { RolloutRequestError } from './rollout-errors.js';

export interface RequestTaker {
  create(name: string, spec: RolloutSpec): Promise<unknown>;
  command(name: string, command: RolloutCommand): Promise<unknown>;
  events: EventRepository;
  log: Logger;
  now: () => Date;
}

/**
 * Does the queued requests oldest first, each through the controller as if asked here, then
 * takes it off the queue (the controllers' view of the queue is fenced: a deposed leader takes
 * none). A refusal is the rollout's Warning event: the asking hub checked the request, but the
 * rollout may have moved since. Done at least once: a leader killed between a request's
 * transition and taking it leaves it for the next, whose step refuses it as done (paused
 * already, not paused, nothing to abort).
 */
export async function takeRolloutRequests(queue: RolloutRequestQueue, taker: RequestTaker): Promise<void> {
  const { requests, unreadable } = await queue.list();
  for (const bad of unreadable) {
    taker.log.error(`rollout request ${bad.id} dropped: it does not check (${bad.problem})`);
    await queue.remove(bad.id);
  }
  for (const r of requests) {
    const what = r.request.type === 'create' ? 'start' : r.request.command.type;
    try {
      if (r.request.type === 'create') await taker.create(r.rollout, r.request.spec);
      else await taker.command(r.rollout, r.request.command);
      taker.log.info(`rollout ${r.rollout}: ${what} asked through another hub at ${r.at}: done`);
    } catch (err) {
      // Store or lease trouble leaves it queued, for the next pass or the next leader.
      if (!(err instanceof RolloutRequestError)) throw err;
      const message = `${what} asked through another hub at ${r.at} refused: ${err.message}`;
      taker.log.warn(`rollout ${r.rollout}: ${message}`);
      await taker.events.append(eventSubjects.rollout(r.rollout), { time: taker.now().toISOString(), type: 'Warning', reason: 'RolloutRequestRefused', message });
    }
    await queue.remove(r.id);
  }
}
