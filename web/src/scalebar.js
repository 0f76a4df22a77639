// Scale bar and magnification readout for the background slide. OpenSeadragon has no scale bar,
// so the length is computed here: micrometres per screen pixel = mpp_x / (screen px per image px),
// and the bar shows the largest "nice" length (1, 2 or 5 x 10^n) that fits in maxWidthPx.

import { formatMicrons } from './format.js';

const NICE_STEPS = [5, 2, 1];

/**
 * Largest nice length not longer than maxLength (any unit): 1, 2 or 5 times a power of ten.
 * @returns {number} 0 when maxLength is not a positive finite number
 */
export function niceLength(maxLength) {
  if (!(maxLength > 0) || !Number.isFinite(maxLength)) return 0;
  const power = Math.pow(10, Math.floor(Math.log10(maxLength)));
  for (const step of NICE_STEPS) {
    const candidate = step * power;
    if (candidate <= maxLength * (1 + 1e-9)) return candidate;
  }
  return power;
}

export class ScaleBar {
  /**
   * @param {{bar: HTMLElement, label: HTMLElement, magnification: HTMLElement}} elements
   * @param {number} maxWidthPx the longest the bar may be on screen, in CSS pixels
   */
  constructor(elements, maxWidthPx = 160) {
    this.elements = elements;
    this.maxWidthPx = maxWidthPx;
  }

  /**
   * @param {number} imageZoom screen CSS pixels per level-0 pixel of the background slide
   * @param {{mpp_x: number|null, objective_power: number|null}|null} slide the background
   */
  update(imageZoom, slide) {
    const { bar, label, magnification } = this.elements;
    if (!slide || !(imageZoom > 0)) {
      bar.style.width = '0px';
      label.textContent = '';
      magnification.textContent = '';
      return;
    }
    const mpp = typeof slide.mpp_x === 'number' && slide.mpp_x > 0 ? slide.mpp_x : null;
    if (mpp !== null) {
      const micronsPerScreenPx = mpp / imageZoom;
      const lengthUm = niceLength(micronsPerScreenPx * this.maxWidthPx);
      bar.style.width = `${Math.round(lengthUm / micronsPerScreenPx)}px`;
      label.textContent = formatMicrons(lengthUm);
      bar.classList.remove('uncalibrated');
      label.title = `${mpp} µm per pixel at level 0`;
    } else {
      // No physical calibration: show a length in level-0 pixels instead.
      const lengthPx = niceLength(this.maxWidthPx / imageZoom);
      bar.style.width = `${Math.round(lengthPx * imageZoom)}px`;
      label.textContent = `${lengthPx} px`;
      bar.classList.add('uncalibrated');
      label.title = 'The slide has no microns-per-pixel calibration';
    }

    let objective = typeof slide.objective_power === 'number' && slide.objective_power > 0
      ? slide.objective_power : null;
    let approximate = false;
    if (objective === null && mpp !== null) {
      objective = 10 / mpp; // the usual 10x ~ 1 µm/px convention
      approximate = true;
    }
    if (objective === null) {
      magnification.textContent = `${formatZoom(imageZoom * 100)}%`;
    } else {
      magnification.textContent = `${approximate ? '≈' : ''}${formatZoom(objective * imageZoom)}×`;
    }
  }
}

function formatZoom(value) {
  if (value >= 10) return value.toFixed(1);
  if (value >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}
