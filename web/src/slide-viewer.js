// The OpenSeadragon viewer: one background slide (world item 0) and any number of layers on top
// of it (world items 1..n), each a TiledImage of a Deep Zoom source. Every item is placed at
// x = 0, y = 0 with width 1 in viewport coordinates, so layers stay aligned with the background
// (a slide of another pixel size is scaled to the background's width).
//
// Above the slides lie the inference layers of the background slide (overlays): its heatmaps
// and tissue masks, each a simple image (one pixel per grid tile, or per mask pixel) placed in
// the background's level-0 frame: a heatmap covers cols * tile_level0 by rows * tile_level0
// level-0 pixels from (0, 0). They are drawn without smoothing, so tiles stay crisp squares
// at any zoom while the slides are still drawn smoothly. An overlay gets its OpenSeadragon
// item when it is first shown.
//
// Operations that change the world are run one at a time, each waiting for OpenSeadragon to
// finish adding its item, so that the world's items are always the entries, index for index,
// followed by the overlays that have an item, in order.

import { dziUrl, heatmapImageUrl, tissueImageUrl } from './api.js';

/**
 * @typedef {object} Entry
 * @property {number} key unique per entry (the same slide may be added twice)
 * @property {object} slide the slide as the API describes it
 * @property {number} opacity 0..1, kept while the entry is hidden
 * @property {boolean} visible
 * @property {object} item the OpenSeadragon TiledImage
 */

/**
 * @typedef {object} Overlay an inference layer of the background slide
 * @property {number} key unique among entries and overlays
 * @property {'heatmap'|'tissue'} kind
 * @property {object} result the inference result as the API describes it (one model, one slide)
 * @property {boolean} available false for a failed result: listed, never drawn
 * @property {number} opacity 0..1
 * @property {boolean} visible
 * @property {string} [colormap] heatmap: viridis, magma, inferno, jet or gray
 * @property {number} [threshold] heatmap: tiles below it (0..1) are not drawn
 * @property {number} [classIndex] heatmap: the class whose probability is shown
 * @property {object|null} item the OpenSeadragon TiledImage, once shown
 * @property {string|null} url the image the item shows
 */

/** The image an overlay shows with its current settings. */
export function overlayImageUrl(overlay) {
  if (overlay.kind === 'tissue') return tissueImageUrl(overlay.result);
  return heatmapImageUrl(overlay.result, overlay);
}

/** An overlay's width in viewport coordinates (the background slide is 1 wide). */
function overlayWidth(overlay, imageWidth) {
  const geometry = overlay.result.geometry;
  if (overlay.kind === 'tissue') return (imageWidth * overlay.result.tissue.downsample) / geometry.slide_width;
  return (geometry.cols * geometry.tile_level0) / geometry.slide_width;
}

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
    /** @type {Overlay[]} the background's inference layers */
    this.overlays = [];
    /** Items drawn without smoothing (nearest neighbour). */
    this.crispItems = new WeakSet();
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
    // The canvas drawer saves its context before this event and restores it after the tile.
    this.osd.addHandler('tile-drawing', (event) => {
      if (this.crispItems.has(event.tiledImage)) event.context.imageSmoothingEnabled = false;
    });
    this.changed();
  }

  get background() {
    return this.entries.length > 0 ? this.entries[0] : null;
  }

  get layers() {
    return this.entries.slice(1);
  }

  /** Replaces the background and removes every layer and overlay. */
  open(slide, options = {}) {
    return this.enqueue(async () => {
      this.osd.world.removeAll();
      this.entries = [];
      this.overlays = [];
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
      this.overlays = [];
      this.changed();
    });
  }

  /**
   * Replaces the overlays by those of the background's inference results. Each overlay is given
   * without key and item; the visible ones are drawn at once.
   * @param {Array<Omit<Overlay, 'key'|'item'|'url'>>} overlays
   */
  setOverlays(overlays) {
    return this.enqueue(async () => {
      for (const overlay of this.overlays) {
        if (overlay.item) this.osd.world.removeItem(overlay.item);
      }
      this.overlays = overlays.map((overlay) => ({ ...overlay, key: this.nextKey++, item: null, url: null }));
      this.changed();
      for (const overlay of this.overlays) {
        if (overlay.available && this.isShown(overlay)) {
          try {
            await this.addOverlayItem(overlay);
          } catch (err) {
            this.dispatchEvent(new CustomEvent('error', { detail: err }));
          }
        }
      }
    });
  }

  /** Changes a heatmap's colormap, threshold or class; the image is replaced in place. */
  setOverlaySettings(key, { colormap, threshold, classIndex }) {
    const overlay = this.overlays.find((candidate) => candidate.key === key);
    if (!overlay || overlay.kind !== 'heatmap') return;
    if (colormap !== undefined) overlay.colormap = colormap;
    if (threshold !== undefined) overlay.threshold = Math.min(1, Math.max(0, threshold));
    if (classIndex !== undefined) overlay.classIndex = classIndex;
    this.changed();
    if (overlay.item) this.refreshOverlay(overlay);
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
    const drawn = [...this.entries, ...this.overlays.filter((overlay) => overlay.item)];
    if (this.osd.world.getItemCount() !== drawn.length) return false;
    return drawn.every((entry) => !this.isShown(entry) || entry.item.getFullyLoaded());
  }

  // ---- internals ----

  /** The entry or overlay with this key. */
  find(key) {
    return this.entries.find((entry) => entry.key === key)
      || this.overlays.find((overlay) => overlay.key === key) || null;
  }

  isShown(entry) {
    return entry.visible && entry.opacity > 0;
  }

  applyOpacity(entry) {
    if (entry.item) {
      entry.item.setOpacity(entry.visible ? entry.opacity : 0);
    } else if (this.overlays.includes(entry) && entry.available && this.isShown(entry)) {
      // An overlay shown for the first time.
      this.enqueue(async () => {
        if (!entry.item && this.overlays.includes(entry) && this.isShown(entry)) await this.addOverlayItem(entry);
      }).catch((err) => this.dispatchEvent(new CustomEvent('error', { detail: err })));
    }
  }

  /** Replaces an overlay's image after a change of its settings (the last change wins). */
  refreshOverlay(overlay) {
    this.enqueue(async () => {
      if (!overlay.item || !this.overlays.includes(overlay) || overlayImageUrl(overlay) === overlay.url) return;
      await this.addOverlayItem(overlay, true);
    }).catch((err) => this.dispatchEvent(new CustomEvent('error', { detail: err })));
  }

  /** World index of an overlay: after the entries and the overlays before it that have an item. */
  overlayIndex(overlay) {
    let index = this.entries.length;
    for (const other of this.overlays) {
      if (other === overlay) break;
      if (other.item) index += 1;
    }
    return index;
  }

  addOverlayItem(overlay, replace = false) {
    const url = overlayImageUrl(overlay);
    const index = replace ? this.osd.world.getIndexOfItem(overlay.item) : this.overlayIndex(overlay);
    return new Promise((resolve, reject) => {
      this.osd.addTiledImage({
        tileSource: { type: 'image', url, buildPyramid: true },
        index,
        replace,
        x: 0,
        y: 0,
        width: overlayWidth(overlay, 1),
        opacity: this.isShown(overlay) ? overlay.opacity : 0,
        success: ({ item }) => {
          if (overlay.kind === 'tissue') item.setWidth(overlayWidth(overlay, item.source.dimensions.x), true);
          this.crispItems.add(item);
          item.addHandler('fully-loaded-change', () => this.dispatchEvent(new Event('loading')));
          overlay.item = item;
          overlay.url = url;
          this.changed();
          resolve(overlay);
        },
        error: (event) => {
          reject(new Error(`Cannot load the ${overlay.kind === 'tissue' ? 'tissue mask' : 'heatmap'} of `
                           + `${overlay.result.model_name}: ${event.message || 'unknown error'}`));
        },
      });
    });
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
    const entry = [...this.entries, ...this.overlays].find((candidate) => candidate.item === event.tiledImage);
    const key = entry ? entry.key : 0;
    if (this.tileErrorsReported.has(key)) return;
    this.tileErrorsReported.add(key);
    const name = entry ? (entry.slide ? entry.slide.name : entry.result.model_name) : 'a slide';
    const detail = new Error(`Some tiles of ${name} failed to load (${event.message || 'error'})`);
    this.dispatchEvent(new CustomEvent('error', { detail }));
  }
}
