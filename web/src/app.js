// Entry point of the viewer: wires the file browser, the OpenSeadragon viewer, the layer panel,
// the scale bar and the URL state together, and gives the background slide its inference
// layers.

import { getSlide, listInference } from './api.js';
import { overlayStates, overlaysFor } from './inference-layers.js';
import { LayersPanel } from './layers-panel.js';
import { ReportsPanel } from './reports-panel.js';
import { ScaleBar } from './scalebar.js';
import { getSession, signInUrl, signOut } from './session.js';
import { SlideBrowser } from './slide-browser.js';
import { SlideViewer } from './slide-viewer.js';
import { formatHash, parseHash } from './url-state.js';

const HASH_DEBOUNCE_MS = 250;
const TOAST_MS = 7000;

const $ = (id) => document.getElementById(id);

// ---- notifications ----

function toast(message, kind = 'error') {
  const node = document.createElement('div');
  node.className = `toast toast-${kind}`;
  node.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  const text = document.createElement('span');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'icon-btn';
  close.textContent = '×';
  close.setAttribute('aria-label', 'Dismiss');
  close.addEventListener('click', () => node.remove());
  node.append(text, close);
  $('toasts').append(node);
  setTimeout(() => node.remove(), TOAST_MS);
}

function showError(err) {
  const code = err && err.code ? `${err.code}: ` : '';
  toast(`${code}${err && err.message ? err.message : String(err)}`, 'error');
  console.error(err);
}

// ---- the application ----

class App {
  constructor() {
    this.viewer = new SlideViewer($('viewer'));
    this.browser = new SlideBrowser({
      centreList: $('centre-list'),
      slideRows: $('slide-rows'),
      slidesTitle: $('slides-title'),
      filter: $('slide-filter'),
      table: $('slide-table'),
    });
    this.layers = new LayersPanel({
      card: $('layers-card'), list: $('layer-list'), info: $('slide-info'),
      toggle: $('layers-toggle'), body: $('layers-body'),
    }, this.viewer);
    this.scaleBar = new ScaleBar({
      bar: $('scalebar-bar'), label: $('scalebar-label'), magnification: $('magnification'),
    });
    this.restoring = false;
    /** The slide whose inference layers the viewer shows (or is loading); null for none. */
    this.inferenceFor = null;
    this.inferenceRequest = 0;
    this.lastHash = null;
    this.hashTimer = 0;
    this.hudFrame = 0;

    this.browser.addEventListener('action', (event) => this.onAction(event.detail));
    this.browser.addEventListener('centre', () => this.scheduleHash());
    this.browser.addEventListener('error', (event) => showError(event.detail));
    this.viewer.addEventListener('change', () => this.onViewerChange());
    this.viewer.addEventListener('viewport', () => {
      this.scheduleHud();
      this.scheduleHash();
    });
    this.viewer.addEventListener('loading', () => this.updateProgress());
    this.viewer.addEventListener('error', (event) => showError(event.detail));

    const viewerElement = $('viewer');
    viewerElement.addEventListener('pointermove', (event) => this.showCursor(event));
    viewerElement.addEventListener('pointerleave', () => { $('cursor-position').textContent = ''; });
    $('copy-link').addEventListener('click', () => this.copyLink());
    window.addEventListener('hashchange', async () => {
      if (window.location.hash === this.lastHash) return;
      const state = parseHash(window.location.hash);
      await this.restore(state);
      this.syncCentre(state);
    });
  }

  /** Shows who is signed in, or a "Sign in" link, when the server has a browser login. */
  async showAccount() {
    const session = await getSession();
    if (!session) return;
    $('account').hidden = false;
    if (!session.authenticated) {
      const link = $('sign-in');
      link.href = signInUrl();
      link.hidden = false;
      // The view may have changed since: come back to the one shown when the link is followed.
      link.addEventListener('click', () => { link.href = signInUrl(); });
      return;
    }
    $('account-name').textContent = session.name || session.subject;
    const button = $('sign-out');
    button.hidden = false;
    button.addEventListener('click', async () => {
      try {
        const providerLogout = await signOut(session.csrf_token);
        window.location.assign(providerLogout || '/');
      } catch (err) {
        showError(err);
      }
    });
  }

  async start() {
    this.showAccount();
    const state = parseHash(window.location.hash);
    this.lastHash = window.location.hash;
    await Promise.all([this.browser.loadCentres(state.centre), this.restore(state)]);
    this.syncCentre(state);
  }

  async onAction({ action, slide }) {
    try {
      if (action === 'open') {
        await this.viewer.open(slide);
      } else if (action === 'background') {
        await this.viewer.setBackground(slide);
      } else if (action === 'layer') {
        if (!this.viewer.background) toast(`${slide.name} opened as the background: there was none.`, 'info');
        await this.viewer.addLayer(slide);
      }
    } catch (err) {
      showError(err);
    }
  }

  /** Opens the slides and viewport a parsed hash describes. */
  async restore(state) {
    this.restoring = true;
    try {
      const wanted = [state.background, ...state.layers].filter(Boolean);
      const slides = await Promise.all(wanted.map((layer) => getSlide(layer.id).catch((err) => {
        showError(err);
        return null;
      })));
      await this.viewer.clear();
      let first = true;
      for (let i = 0; i < wanted.length; i += 1) {
        if (!slides[i]) continue;
        const options = { opacity: wanted[i].opacity, visible: wanted[i].visible };
        try {
          if (first) {
            await this.viewer.open(slides[i], options);
            first = false;
          } else {
            await this.viewer.addLayer(slides[i], options);
          }
        } catch (err) {
          showError(err);
        }
      }
      if (state.viewport && this.viewer.background) this.viewer.setViewport(state.viewport);
      const background = this.viewer.background;
      await this.loadInference(background ? background.slide.id : null, state.inference);
    } finally {
      this.restoring = false;
      this.writeHash();
    }
  }

  /** Shows the centre a hash names or, without one, the background's centre. */
  syncCentre(state) {
    if (this.browser.centres.length === 0) return;
    const background = this.viewer.background;
    const centre = state.centre || (background ? background.slide.centre : null);
    if (centre && centre !== this.browser.centre) this.browser.selectCentre(centre);
  }

  /**
   * Shows the inference layers of a slide (the background), with the settings a URL asked for.
   * A later call wins over one still waiting for the server.
   */
  async loadInference(slideId, states = []) {
    this.inferenceFor = slideId;
    const request = ++this.inferenceRequest;
    let results = [];
    if (slideId) {
      try {
        results = await listInference(slideId);
      } catch (err) {
        showError(err);
      }
    }
    if (request !== this.inferenceRequest) return;
    await this.viewer.setOverlays(overlaysFor(results, states));
  }

  onViewerChange() {
    const background = this.viewer.background;
    const backgroundId = background ? background.slide.id : null;
    if (!this.restoring && backgroundId !== this.inferenceFor) {
      this.loadInference(backgroundId).catch(showError);
    }
    const hasSlide = this.viewer.entries.length > 0;
    $('empty-state').hidden = hasSlide;
    $('hud').hidden = !hasSlide;
    $('copy-link').disabled = !hasSlide;
    document.title = hasSlide ? `${this.viewer.background.slide.name} · mcval viewer` : 'mcval viewer';
    this.layers.render();
    this.updateProgress();
    this.scheduleHud();
    this.scheduleHash();
  }

  updateProgress() {
    const busy = this.viewer.pending > 0
      || (this.viewer.entries.length > 0 && !this.viewer.tilesLoaded());
    $('progress').hidden = !busy;
    $('viewer').setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  scheduleHud() {
    if (this.hudFrame) return;
    this.hudFrame = requestAnimationFrame(() => {
      this.hudFrame = 0;
      const background = this.viewer.background;
      this.scaleBar.update(this.viewer.backgroundImageZoom(), background ? background.slide : null);
    });
  }

  showCursor(event) {
    const rect = $('viewer').getBoundingClientRect();
    const point = new window.OpenSeadragon.Point(event.clientX - rect.left, event.clientY - rect.top);
    const pixel = this.viewer.backgroundPixelAt(point);
    $('cursor-position').textContent = pixel
      ? `x ${pixel.x.toLocaleString('en-US')}  y ${pixel.y.toLocaleString('en-US')}` : '';
  }

  currentState() {
    const toLayer = (entry) => ({ id: entry.slide.id, opacity: entry.opacity, visible: entry.visible });
    const background = this.viewer.background;
    return {
      centre: this.browser.centre,
      background: background ? toLayer(background) : null,
      layers: this.viewer.layers.map(toLayer),
      inference: overlayStates(this.viewer.overlays),
      viewport: background ? this.viewer.getViewport() : null,
    };
  }

  scheduleHash() {
    if (this.restoring) return;
    clearTimeout(this.hashTimer);
    this.hashTimer = setTimeout(() => this.writeHash(), HASH_DEBOUNCE_MS);
  }

  writeHash() {
    if (this.restoring) return;
    clearTimeout(this.hashTimer);
    const hash = formatHash(this.currentState());
    if (hash === this.lastHash) return;
    this.lastHash = hash;
    const url = `${window.location.pathname}${window.location.search}${hash}`;
    window.history.replaceState(null, '', url);
  }

  async copyLink() {
    this.writeHash();
    try {
      await navigator.clipboard.writeText(window.location.href);
      toast('Link to this view copied.', 'info');
    } catch {
      toast('Copy the link from the address bar: the browser refused clipboard access.', 'info');
    }
  }

  /** A small, stable surface for tests and for the browser console. */
  testHook() {
    const viewer = this.viewer;
    return {
      osd: viewer.osd,
      tilesLoaded: () => viewer.tilesLoaded(),
      state: () => ({
        ...this.currentState(),
        busy: viewer.pending > 0,
        items: viewer.entries.map((entry) => ({
          id: entry.slide.id,
          name: entry.slide.name,
          opacity: entry.item.getOpacity(),
          fullyLoaded: entry.item.getFullyLoaded(),
        })),
        overlays: viewer.overlays.map((overlay) => ({
          key: overlay.key,
          kind: overlay.kind,
          model: overlay.result.model_sha256,
          available: overlay.available,
          visible: overlay.visible,
          opacity: overlay.opacity,
          colormap: overlay.colormap,
          threshold: overlay.threshold,
          classIndex: overlay.classIndex,
          url: overlay.url,
          itemOpacity: overlay.item ? overlay.item.getOpacity() : null,
          worldIndex: overlay.item ? viewer.osd.world.getIndexOfItem(overlay.item) : -1,
          fullyLoaded: overlay.item ? overlay.item.getFullyLoaded() : false,
        })),
        worldItemCount: viewer.osd.world.getItemCount(),
        hash: window.location.hash,
      }),
    };
  }
}

function main() {
  if (!window.OpenSeadragon) {
    showError(new Error('OpenSeadragon did not load (vendor/openseadragon/openseadragon.min.js).'));
    return;
  }
  const app = new App();
  window.mcvalViewer = app.testHook();
  app.start().catch(showError);
  new ReportsPanel(document.getElementById('report-list')).load();
}

main();
