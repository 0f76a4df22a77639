// The OpenSeadragon viewer: one background slide (world item 0) and any number of layers on top
// of it (world items 1..n), each a TiledImage of a Deep Zoom source. Every item is placed at
// x = 0, y = 0 with width 1 in viewport coordinates, so layers stay aligned with the background
// (a slide of another pixel size is scaled to the background's width).
//
// Operations that change the world are run one at a time, each waiting for OpenSeadragon to
// finish adding its item, so that the entries here and the world's items always match index
// for index.

import { dziUrl } from './api.js';

/**
 * @typedef {object} Entry
 * @property {number} key unique per entry (the same slide may be added twice)
 * @property {object} slide the slide as the API describes it
 * @property {number} opacity 0..1, kept while the entry is hidden
 * @property {boolean} visible
 * @property {object} item the OpenSeadragon TiledImage
 */

const OSD_OPTIONS = {
  prefixUrl: 'vendor/openseadragon/images/',
  drawer: 'canvas',
  showNavigator: true,
  navigatorPosition: 'BOTTOM_RIGHT',
  navigatorSizeRatio: 0.16,
  navigatorAutoFade: false,
  showRotationControl: false,
  showFullPageControl: true,
  navigationControlAnchor: 'TOP_LEFT',
  preserveViewport: true,
  visibilityRatio: 0.3,
  minZoomImageRatio: 0.5,
  maxZoomPixelRatio: 4,
  zoomPerScroll: 1.4,
  animationTime: 0.6,
  springStiffness: 9,
  crossOriginPolicy: false,
  timeout: 60000,
  gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
};

export class SlideViewer extends EventTarget {
  /** @param {HTMLElement} element the viewer's container */
  constructor(element) {
    super();
    this.osd = window.OpenSeadragon({ element, ...OSD_OPTIONS });
    /** @type {Entry[]} entries[0] is the background */
    this.entries = [];
    this.nextKey = 1;
    this.queue = Promise.resolve();
    this.pending = 0;
    this.tileErrorsReported = new Set();

    const emitViewport = () => this.dispatchEvent(new Event('viewport'));
    this.osd.addHandler('animation', emitViewport);
    this.osd.addHandler('animation-finish', emitViewport);
    this.osd.addHandler('resize', emitViewport);
    this.osd.addHandler('viewport-change', emitViewport);
    this.osd.addHandler('tile-load-failed', (event) => this.onTileFailed(event));
    this.changed();
  }

  get background() {
    return this.entries.length > 0 ? this.entries[0] : null;
  }

  get layers() {
    return this.entries.slice(1);
  }

  /** Replaces the background and removes every layer. */
  open(slide, options = {}) {
    return this.enqueue(async () => {
      this.osd.world.removeAll();
      this.entries = [];
      this.changed();
      await this.addItem(slide, options, 0, false);
      this.osd.viewport.goHome(true);
    });
  }

  /** Replaces the background (or opens it when there is none) and keeps the layers. */
  setBackground(slide, options = {}) {
    return this.enqueue(async () => {
      if (this.entries.length === 0) {
        await this.addItem(slide, options, 0, false);
        this.osd.viewport.goHome(true);
      } else {
        await this.addItem(slide, options, 0, true);
      }
    });
  }

  /** Adds a layer on top; a slide added to an empty viewer becomes the background. */
  addLayer(slide, options = {}) {
    return this.enqueue(async () => {
      const first = this.entries.length === 0;
      await this.addItem(slide, options, this.entries.length, false);
      if (first) this.osd.viewport.goHome(true);
    });
  }

  /** Removes an entry; removing the background makes the first layer the new background. */
  remove(key) {
    return this.enqueue(async () => {
      const index = this.entries.findIndex((entry) => entry.key === key);
      if (index < 0) return;
      const [entry] = this.entries.splice(index, 1);
      this.osd.world.removeItem(entry.item);
      this.changed();
    });
  }

  /** Removes everything. */
  clear() {
    return this.enqueue(async () => {
      this.osd.world.removeAll();
      this.entries = [];
      this.changed();
    });
  }

  setOpacity(key, opacity) {
    const entry = this.find(key);
    if (!entry) return;
    entry.opacity = Math.min(1, Math.max(0, opacity));
    this.applyOpacity(entry);
    this.changed();
  }

  setVisible(key, visible) {
    const entry = this.find(key);
    if (!entry) return;
    entry.visible = Boolean(visible);
    this.applyOpacity(entry);
    this.changed();
  }

  /** Viewport centre and zoom, in viewport coordinates (the background is 1 wide). */
  getViewport() {
    const centre = this.osd.viewport.getCenter(false);
    return { x: centre.x, y: centre.y, zoom: this.osd.viewport.getZoom(false) };
  }

  setViewport({ x, y, zoom }) {
    const viewport = this.osd.viewport;
    viewport.zoomTo(zoom, null, true);
    viewport.panTo(new window.OpenSeadragon.Point(x, y), true);
    viewport.applyConstraints(true);
  }

  /** Screen CSS pixels per level-0 pixel of the background; 0 without a background. */
  backgroundImageZoom() {
    const background = this.background;
    if (!background) return 0;
    return background.item.viewportToImageZoom(this.osd.viewport.getZoom(true));
  }

  /** Background level-0 pixel under a point of the viewer element, or null. */
  backgroundPixelAt(webPoint) {
    const background = this.background;
    if (!background) return null;
    const viewportPoint = this.osd.viewport.pointFromPixel(webPoint, true);
    const image = background.item.viewportToImageCoordinates(viewportPoint);
    const { width, height } = background.item.getContentSize();
    if (image.x < 0 || image.y < 0 || image.x >= width || image.y >= height) return null;
    return { x: Math.floor(image.x), y: Math.floor(image.y) };
  }

  /** True when no operation is running and every visible item has drawn all the tiles it needs. */
  tilesLoaded() {
    if (this.pending > 0 || this.entries.length === 0) return false;
    if (this.osd.world.getItemCount() !== this.entries.length) return false;
    return this.entries.every((entry) => !this.isShown(entry) || entry.item.getFullyLoaded());
  }

  // ---- internals ----

  find(key) {
    return this.entries.find((entry) => entry.key === key) || null;
  }

  isShown(entry) {
    return entry.visible && entry.opacity > 0;
  }

  applyOpacity(entry) {
    entry.item.setOpacity(entry.visible ? entry.opacity : 0);
  }

  changed() {
    // The navigator of an empty viewer would be an empty black box.
    if (this.osd.navigator) {
      this.osd.navigator.element.style.visibility = this.entries.length > 0 ? '' : 'hidden';
    }
    this.dispatchEvent(new Event('change'));
  }

  enqueue(operation) {
    this.pending += 1;
    const run = this.queue.then(operation).finally(() => {
      this.pending -= 1;
      this.changed();
    });
    this.queue = run.catch(() => {});
    return run;
  }

  addItem(slide, options, index, replace) {
    const opacity = typeof options.opacity === 'number' ? options.opacity : 1;
    const visible = options.visible !== false;
    return new Promise((resolve, reject) => {
      this.osd.addTiledImage({
        tileSource: dziUrl(slide),
        index,
        replace,
        x: 0,
        y: 0,
        width: 1,
        opacity: visible ? opacity : 0,
        success: ({ item }) => {
          item.addHandler('fully-loaded-change', () => this.dispatchEvent(new Event('loading')));
          const entry = { key: this.nextKey++, slide, opacity, visible, item };
          if (replace) {
            this.entries[index] = entry;
          } else {
            this.entries.splice(index, 0, entry);
          }
          this.changed();
          resolve(entry);
        },
        error: (event) => {
          reject(new Error(`Cannot open ${slide.name || slide.id}: ${event.message || 'unknown error'}`));
        },
      });
    });
  }

  onTileFailed(event) {
    const entry = this.entries.find((candidate) => candidate.item === event.tiledImage);
    const key = entry ? entry.key : 0;
    if (this.tileErrorsReported.has(key)) return;
    this.tileErrorsReported.add(key);
    const name = entry ? entry.slide.name : 'a slide';
    const detail = new Error(`Some tiles of ${name} failed to load (${event.message || 'error'})`);
    this.dispatchEvent(new CustomEvent('error', { detail }));
  }
}
