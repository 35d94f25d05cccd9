// A live chart of one MCU's telemetry (pitch and roll of the tilt sensor, or whatever channels
// it sends), fed by the hub's telemetry stream. uPlot draws into a canvas: cheap at 10 Hz.
import { LitElement, css, html, type PropertyValues, type TemplateResult } from 'lit';
import uPlot from 'uplot';
import uplotCss from 'uplot/dist/uPlot.min.css?inline';
import { unsafeCSS } from 'lit';
import type { McuTelemetry } from '../../src/protocol/schemas/mcu.js';
import { followNdjson } from './api.js';

const POINTS = 120;
const COLOURS = ['#0b5cad', '#c2410c', '#15803d', '#7c3aed'];

export class TelemetryChart extends LitElement {
  static override properties = { gateway: {}, mcu: {}, frames: { state: true }, latest: { state: true } };
  declare gateway: string;
  declare mcu: string;
  declare frames: number;
  declare latest: McuTelemetry | null;
  private plot: uPlot | undefined;
  private stop: (() => void) | undefined;
  private readonly times: number[] = [];
  private readonly series = new Map<string, number[]>();

  constructor() {
    super();
    this.gateway = '';
    this.mcu = '';
    this.frames = 0;
    this.latest = null;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stop?.();
    this.plot?.destroy();
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has('gateway') || changed.has('mcu')) this.follow();
  }

  private follow(): void {
    this.stop?.();
    if (!this.gateway || !this.mcu) return;
    const path = `/v1/mcus/${encodeURIComponent(this.gateway)}/${encodeURIComponent(this.mcu)}/telemetry?tail=64&follow=true`;
    this.stop = followNdjson<McuTelemetry>(path, (frame) => this.add(frame));
  }

  private add(frame: McuTelemetry): void {
    // One unit per chart: the tilt (pitch and roll, degrees) when the MCU sends it, else the
    // channels sharing the first one's unit. The values line above the chart shows them all.
    const tilt = frame.channels.filter((c) => c.name === 'pitch' || c.name === 'roll');
    const unit = frame.channels[0]?.unit;
    const channels = (tilt.length > 0 ? tilt : frame.channels.filter((c) => c.unit === unit)).slice(0, COLOURS.length);
    this.times.push(Date.parse(frame.time) / 1000);
    for (const c of channels) {
      const values = this.series.get(c.name) ?? Array.from({ length: this.times.length - 1 }, () => Number.NaN);
      values.push(c.value);
      this.series.set(c.name, values);
    }
    if (this.times.length > POINTS) {
      this.times.shift();
      for (const values of this.series.values()) values.shift();
    }
    this.latest = frame;
    this.frames += 1;
    this.draw();
  }

  private draw(): void {
    const target = this.renderRoot.querySelector('.plot') as HTMLElement | null;
    if (!target) return;
    const names = [...this.series.keys()];
    const data: uPlot.AlignedData = [this.times, ...names.map((n) => this.series.get(n) ?? [])];
    if (!this.plot || this.plot.series.length !== names.length + 1) {
      this.plot?.destroy();
      this.plot = new uPlot(
        { width: 640, height: 220, series: [{}, ...names.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length] ?? '#000', width: 1.5 }))], axes: [{}, {}] },
        data,
        target,
      );
    } else this.plot.setData(data);
  }

  override render(): TemplateResult {
    const values = this.latest?.channels.map((c) => `${c.name} ${c.value.toFixed(2)} ${c.unit}`).join(' · ') ?? 'waiting for telemetry…';
    return html`<div class="head"><b>${this.mcu}</b> <span class="values" data-testid="telemetry-values">${values}</span> <span class="muted" data-testid="telemetry-frames">${this.frames} frames</span></div>
      <div class="plot"></div>`;
  }

  static override styles = [unsafeCSS(uplotCss), css`.head { margin: 0.4rem 0; } .muted { color: #66707a; font-size: 0.85rem; } .plot { background: #fff; }`];
}

customElements.define('ep-telemetry-chart', TelemetryChart);
