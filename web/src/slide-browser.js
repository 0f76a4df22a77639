// The file browser: the list of centres and, for the selected centre, a table of its slides
// (thumbnail, name, size, modified, status) with the actions Open, Add as background and
// Add as layer. Unreadable slides are shown greyed, with the reason as a tooltip, and no actions.

import { listCentres, listSlides, thumbnailUrl } from './api.js';
import { formatBytes, splitDate } from './format.js';

const THUMBNAIL_PX = 128;
// Rows drawn at once; "Show more" draws the next ones (a centre may hold 100,000 slides).
const ROWS_PER_PAGE = 500;

const ACTIONS = [
  { action: 'open', label: 'Open', title: 'Show this slide alone', primary: true },
  { action: 'background', label: 'Add as background', title: 'Put this slide under the current layers' },
  { action: 'layer', label: 'Add as layer', title: 'Overlay this slide on the current view' },
];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function compareSlides(key) {
  return (a, b) => {
    const va = a[key];
    const vb = b[key];
    if (typeof va === 'number' && typeof vb === 'number') return va - vb;
    return String(va ?? '').localeCompare(String(vb ?? ''), undefined, { numeric: true, sensitivity: 'base' });
  };
}

export class SlideBrowser extends EventTarget {
  /**
   * @param {object} elements centreList, slideRows, slidesTitle, filter, table
   * Events: 'action' (detail {action, slide}), 'centre' (detail {name}), 'error' (detail Error).
   */
  constructor(elements) {
    super();
    this.el = elements;
    this.centres = [];
    this.centre = null;
    this.slides = [];
    this.sort = { key: 'name', ascending: true };
    this.filterText = '';
    this.loadToken = 0;
    this.shownRows = ROWS_PER_PAGE;

    this.el.centreList.addEventListener('click', (event) => {
      const item = event.target.closest('[data-centre]');
      if (item) this.selectCentre(item.dataset.centre);
    });
    this.el.centreList.addEventListener('keydown', (event) => {
      const item = event.target.closest('[data-centre]');
      if (item && (event.key === 'Enter' || event.key === ' ')) {
        event.preventDefault();
        this.selectCentre(item.dataset.centre);
      }
    });
    this.el.slideRows.addEventListener('click', (event) => {
      if (event.target.closest('button[data-more]')) {
        this.shownRows += ROWS_PER_PAGE;
        this.renderSlides();
        return;
      }
      const button = event.target.closest('button[data-action]');
      if (!button) return;
      const slide = this.slides.find((candidate) => candidate.id === button.dataset.id);
      if (slide) {
        this.dispatchEvent(new CustomEvent('action', { detail: { action: button.dataset.action, slide } }));
      }
    });
    this.el.table.querySelector('thead').addEventListener('click', (event) => {
      const button = event.target.closest('button[data-sort]');
      if (!button) return;
      const key = button.dataset.sort;
      this.sort = { key, ascending: this.sort.key === key ? !this.sort.ascending : true };
      this.shownRows = ROWS_PER_PAGE;
      this.renderSlides();
    });
    this.el.filter.addEventListener('input', () => {
      this.filterText = this.el.filter.value.trim().toLowerCase();
      this.shownRows = ROWS_PER_PAGE;
      this.renderSlides();
    });
  }

  /** Loads the centres; selects `preferred` when it exists, else the first centre. */
  async loadCentres(preferred) {
    try {
      this.centres = await listCentres();
    } catch (err) {
      this.el.centreList.replaceChildren(element('li', 'placeholder error-text', err.message));
      this.fail(err);
      return;
    }
    this.renderCentres();
    if (this.centres.length === 0) {
      this.el.centreList.replaceChildren(element('li', 'placeholder', 'No centres: the slide folder is empty.'));
      this.el.slideRows.replaceChildren(this.messageRow('No slides to show.'));
      return;
    }
    const name = this.centres.some((c) => c.name === preferred) ? preferred : this.centres[0].name;
    await this.selectCentre(name);
  }

  async selectCentre(name) {
    if (name === this.centre && this.slides.length > 0) return;
    this.centre = name;
    this.renderCentres();
    this.dispatchEvent(new CustomEvent('centre', { detail: { name } }));
    this.el.slidesTitle.textContent = `Slides · ${name}`;
    this.el.filter.disabled = false;
    this.slides = [];
    this.el.slideRows.replaceChildren(this.messageRow('Loading slides…'));
    const token = ++this.loadToken;
    try {
      this.shownRows = ROWS_PER_PAGE;
      const slides = await listSlides(name, (soFar) => {
        if (token !== this.loadToken) return;
        const total = this.centres.find((c) => c.name === name)?.slide_count;
        this.el.slideRows.replaceChildren(this.messageRow(
          `Loading slides… ${soFar.length.toLocaleString('en-US')}${total ? ` of ${total.toLocaleString('en-US')}` : ''}`));
      });
      if (token !== this.loadToken) return;
      this.slides = slides;
      this.renderSlides();
    } catch (err) {
      if (token !== this.loadToken) return;
      this.el.slideRows.replaceChildren(this.messageRow(err.message, true));
      this.fail(err);
    }
  }

  fail(err) {
    this.dispatchEvent(new CustomEvent('error', { detail: err }));
  }

  renderCentres() {
    const items = this.centres.map((centre) => {
      const item = element('li', 'centre');
      item.dataset.centre = centre.name;
      item.tabIndex = 0;
      item.setAttribute('role', 'button');
      if (centre.name === this.centre) {
        item.classList.add('selected');
        item.setAttribute('aria-current', 'true');
      }
      const name = element('span', 'centre-name', centre.name);
      const count = centre.slide_count ?? 0;
      const meta = element('span', 'centre-meta',
                           `${count} slide${count === 1 ? '' : 's'} · ${formatBytes(centre.total_bytes)}`);
      item.append(name, meta);
      if (centre.unreadable_count > 0) {
        const warn = element('span', 'badge badge-warn', `${centre.unreadable_count} unreadable`);
        item.append(warn);
      }
      return item;
    });
    this.el.centreList.replaceChildren(...items);
  }

  renderSlides() {
    for (const th of this.el.table.querySelectorAll('th')) th.removeAttribute('aria-sort');
    const sortButton = this.el.table.querySelector(`button[data-sort="${this.sort.key}"]`);
    if (sortButton) {
      sortButton.closest('th').setAttribute('aria-sort', this.sort.ascending ? 'ascending' : 'descending');
    }

    let slides = this.slides.filter((slide) => !this.filterText
      || String(slide.name).toLowerCase().includes(this.filterText));
    slides = slides.sort(compareSlides(this.sort.key));
    if (!this.sort.ascending) slides.reverse();

    if (this.slides.length === 0) {
      this.el.slideRows.replaceChildren(this.messageRow('This centre has no slides.'));
      return;
    }
    if (slides.length === 0) {
      this.el.slideRows.replaceChildren(this.messageRow('No slide matches the filter.'));
      return;
    }
    const rows = slides.slice(0, this.shownRows).map((slide) => this.slideRow(slide));
    if (slides.length > this.shownRows) rows.push(this.moreRow(slides.length));
    this.el.slideRows.replaceChildren(...rows);
  }

  moreRow(total) {
    const row = element('tr', 'placeholder-row');
    const cell = element('td', '', `Showing ${this.shownRows.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} slides `);
    cell.colSpan = 6;
    const button = element('button', 'btn btn-small', `Show ${Math.min(ROWS_PER_PAGE, total - this.shownRows)} more`);
    button.type = 'button';
    button.dataset.more = 'true';
    cell.append(button);
    row.append(cell);
    return row;
  }

  slideRow(slide) {
    const readable = slide.status === 'ok';
    const row = element('tr', readable ? 'slide' : 'slide unreadable');
    row.dataset.id = slide.id;
    if (!readable) row.title = slide.status_reason || `Status: ${slide.status}`;

    const thumbCell = element('td', 'col-thumb');
    const frame = element('div', 'thumb');
    if (readable) {
      const img = element('img');
      img.alt = '';
      img.loading = 'lazy';
      img.decoding = 'async';
      img.src = thumbnailUrl(slide, THUMBNAIL_PX);
      img.addEventListener('error', () => frame.classList.add('thumb-missing'), { once: true });
      frame.append(img);
    } else {
      frame.classList.add('thumb-missing');
    }
    thumbCell.append(frame);

    const nameCell = element('td', 'col-name');
    const name = element('div', 'slide-name', slide.name);
    name.title = slide.relative_path || slide.name;
    nameCell.append(name);
    const details = [];
    if (slide.vendor) details.push(slide.vendor);
    if (slide.width && slide.height) details.push(`${slide.width.toLocaleString('en-US')} × ${slide.height.toLocaleString('en-US')}`);
    if (typeof slide.mpp_x === 'number') details.push(`${slide.mpp_x.toFixed(3)} µm/px`);
    if (!readable && slide.status_reason) details.push(slide.status_reason);
    if (details.length > 0) nameCell.append(element('div', 'slide-sub', details.join(' · ')));

    const sizeCell = element('td', 'col-size num', formatBytes(slide.file_bytes));
    sizeCell.title = `${(slide.file_bytes ?? 0).toLocaleString('en-US')} bytes`;
    const modifiedCell = element('td', 'col-modified');
    const modified = splitDate(slide.modified);
    if (modified) {
      modifiedCell.append(element('div', 'day', modified.day), element('div', 'time', modified.time));
      modifiedCell.title = slide.modified;
    } else {
      modifiedCell.textContent = slide.modified || '—';
    }

    const statusCell = element('td', 'col-status');
    const badgeClass = readable ? 'badge-ok' : slide.status === 'unreadable' ? 'badge-error' : 'badge-neutral';
    const badge = element('span', `badge ${badgeClass}`, readable ? 'OK' : slide.status);
    if (!readable) badge.title = slide.status_reason || slide.status;
    statusCell.append(badge);
    if (slide.inference_count > 0) {
      const results = slide.inference_count === 1 ? '1 inference result' : `${slide.inference_count} inference results`;
      const ai = element('span', 'badge badge-ai', `AI ${slide.inference_count}`);
      ai.title = `${results}: layers of the slide once opened`;
      ai.setAttribute('aria-label', results);
      statusCell.append(' ', ai);
    }

    const actionsCell = element('td', 'col-actions');
    if (readable) {
      const group = element('div', 'actions');
      for (const { action, label, title, primary } of ACTIONS) {
        const button = element('button', primary ? 'btn btn-primary btn-small' : 'btn btn-small', label);
        button.type = 'button';
        button.dataset.action = action;
        button.dataset.id = slide.id;
        button.title = title;
        group.append(button);
      }
      actionsCell.append(group);
    }

    row.append(thumbCell, nameCell, sizeCell, modifiedCell, statusCell, actionsCell);
    return row;
  }

  messageRow(text, isError = false) {
    const row = element('tr', 'placeholder-row');
    const cell = element('td', isError ? 'error-text' : '', text);
    cell.colSpan = 6;
    row.append(cell);
    return row;
  }
}
