// The layer panel: the background and every layer with a visibility checkbox, an opacity slider
// and a remove button, plus the background slide's details. Rows are kept per entry and updated
// in place, so a slider being dragged is never replaced under the pointer.

import { formatBytes, formatInteger } from './format.js';

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class LayersPanel {
  /**
   * @param {{card: HTMLElement, list: HTMLElement, info: HTMLElement, toggle: HTMLButtonElement,
   *          body: HTMLElement}} elements
   * @param {import('./slide-viewer.js').SlideViewer} viewer
   */
  constructor(elements, viewer) {
    this.el = elements;
    this.viewer = viewer;
    /** @type {Map<number, {row: HTMLElement, checkbox: HTMLInputElement, slider: HTMLInputElement,
     *   output: HTMLOutputElement, role: HTMLElement, name: HTMLElement}>} */
    this.rows = new Map();
    this.infoFor = null;

    this.el.toggle.addEventListener('click', () => {
      const expanded = this.el.toggle.getAttribute('aria-expanded') !== 'true';
      this.el.toggle.setAttribute('aria-expanded', String(expanded));
      this.el.toggle.textContent = expanded ? 'Collapse' : 'Expand';
      this.el.body.hidden = !expanded;
      this.el.card.classList.toggle('collapsed', !expanded);
    });
    this.el.list.addEventListener('input', (event) => {
      const key = Number(event.target.closest('[data-key]')?.dataset.key);
      if (event.target.matches('input[type="range"]')) {
        this.viewer.setOpacity(key, Number(event.target.value) / 100);
      }
    });
    this.el.list.addEventListener('change', (event) => {
      const key = Number(event.target.closest('[data-key]')?.dataset.key);
      if (event.target.matches('input[type="checkbox"]')) {
        this.viewer.setVisible(key, event.target.checked);
      }
    });
    this.el.list.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-remove]');
      if (button) this.viewer.remove(Number(button.closest('[data-key]').dataset.key));
    });
  }

  render() {
    const entries = this.viewer.entries;
    this.el.card.hidden = entries.length === 0;

    const keys = new Set(entries.map((entry) => entry.key));
    for (const [key, row] of this.rows) {
      if (!keys.has(key)) {
        row.row.remove();
        this.rows.delete(key);
      }
    }
    entries.forEach((entry, index) => {
      let row = this.rows.get(entry.key);
      if (!row) {
        row = this.createRow(entry);
        this.rows.set(entry.key, row);
      }
      const label = entry.slide.name || entry.slide.id;
      row.role.textContent = index === 0 ? 'Background' : `Layer ${index}`;
      row.row.classList.toggle('is-background', index === 0);
      row.row.classList.toggle('is-hidden', !entry.visible);
      row.checkbox.checked = entry.visible;
      row.checkbox.setAttribute('aria-label', `Show ${label}`);
      const percent = Math.round(entry.opacity * 100);
      if (document.activeElement !== row.slider) row.slider.value = String(percent);
      row.slider.setAttribute('aria-label', `Opacity of ${label}`);
      row.output.textContent = `${percent}%`;
      row.remove.setAttribute('aria-label', `Remove ${label}`);
      row.remove.title = index === 0 && entries.length > 1
        ? 'Remove (the first layer becomes the background)' : 'Remove';
      // Keep DOM order equal to entry order.
      if (this.el.list.children[index] !== row.row) {
        this.el.list.insertBefore(row.row, this.el.list.children[index] || null);
      }
    });

    const background = entries.length > 0 ? entries[0].slide : null;
    if (background !== this.infoFor) {
      this.infoFor = background;
      this.renderInfo(background);
    }
  }

  createRow(entry) {
    const slide = entry.slide;
    const row = element('li', 'layer');
    row.dataset.key = String(entry.key);

    const checkbox = element('input', 'layer-visible');
    checkbox.type = 'checkbox';

    const main = element('div', 'layer-main');
    const head = element('div', 'layer-head');
    const role = element('span', 'layer-role');
    const name = element('span', 'layer-name', slide.name || slide.id);
    name.title = `${slide.relative_path || slide.name} (${slide.id})`;
    head.append(role, name);

    const opacity = element('div', 'layer-opacity');
    const slider = element('input', 'slider');
    slider.type = 'range';
    slider.min = '0';
    slider.max = '100';
    slider.step = '1';
    const output = element('output', 'layer-opacity-value');
    opacity.append(slider, output);
    main.append(head, opacity);

    const remove = element('button', 'icon-btn', '×');
    remove.type = 'button';
    remove.dataset.remove = '1';

    row.append(checkbox, main, remove);
    return { row, checkbox, slider, output, role, name, remove };
  }

  renderInfo(slide) {
    if (!slide) {
      this.el.info.replaceChildren();
      return;
    }
    const rows = [
      ['Name', slide.name],
      ['Centre', slide.centre],
      ['Vendor', slide.vendor || '—'],
      ['Dimensions', slide.width && slide.height
        ? `${formatInteger(slide.width)} × ${formatInteger(slide.height)} px` : '—'],
      ['Levels', Array.isArray(slide.levels) && slide.levels.length > 0
        ? `${slide.levels.length} (downsample ${slide.levels.map((l) => trimNumber(l.downsample)).join(', ')})` : '—'],
      ['Resolution', typeof slide.mpp_x === 'number'
        ? `${trimNumber(slide.mpp_x)} × ${trimNumber(slide.mpp_y ?? slide.mpp_x)} µm/px` : 'not calibrated'],
      ['Objective', typeof slide.objective_power === 'number' ? `${trimNumber(slide.objective_power)}×` : '—'],
      ['File size', formatBytes(slide.file_bytes)],
    ];
    const nodes = [];
    for (const [term, value] of rows) {
      nodes.push(element('dt', '', term), element('dd', '', value));
    }
    this.el.info.replaceChildren(...nodes);
  }
}

function trimNumber(value) {
  return typeof value === 'number' ? String(Number(value.toPrecision(4))) : '—';
}
