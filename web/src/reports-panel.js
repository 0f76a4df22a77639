// The "Validation reports" panel: the validation runs stored by `mcval validate`, each linking
// to its self-contained HTML report (opened in a new tab) and its JSON.
import { listReports } from './api.js';

function formatAuc(value) {
  return typeof value === 'number' ? value.toFixed(3) : 'n/a';
}

export class ReportsPanel {
  /** @param {HTMLElement} list the <ul> to fill */
  constructor(list) {
    this.list = list;
  }

  async load() {
    let reports;
    try {
      reports = await listReports();
    } catch (err) {
      this.render([], `Reports unavailable: ${err.message}`);
      return;
    }
    this.render(reports, reports.length === 0 ? 'No validation run yet (mcval validate …).' : '');
  }

  render(reports, message) {
    this.list.replaceChildren();
    if (message) {
      const li = document.createElement('li');
      li.className = 'placeholder';
      li.textContent = message;
      this.list.append(li);
    }
    for (const report of reports) {
      const li = document.createElement('li');
      li.className = 'report';
      const link = document.createElement('a');
      link.href = report.urls.html;
      link.target = '_blank';
      link.rel = 'noopener';
      link.className = 'report-link';
      link.textContent = report.dataset || report.id;
      const meta = document.createElement('span');
      meta.className = 'report-meta';
      const centres = Array.isArray(report.centres) ? report.centres.length : 0;
      meta.textContent = `${(report.created_at || '').slice(0, 16).replace('T', ' ')} · ${report.n ?? '?'} slides · ` +
        `${centres} centres · AUC ${formatAuc(report.pooled_auc)}`;
      const json = document.createElement('a');
      json.href = report.urls.json;
      json.target = '_blank';
      json.rel = 'noopener';
      json.className = 'report-json';
      json.textContent = 'JSON';
      li.append(link, meta, json);
      this.list.append(li);
    }
  }
}
