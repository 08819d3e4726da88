// faunae report: draws the charts from the data in #faunae-data (inlined into each report by
// examples/faunae/report.hpp); marks each chart's container data-rendered="1" once Chart.js has drawn
// it (or "0" with the reason in the box), which the report test reads back in headless Chromium.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('faunae-data').textContent);
  var ids = ['loss-chart', 'cost-chart', 'probe-chart', 'train-chart'];
  function fail(id, message) {
    var el = document.getElementById(id);
    if (!el) return;
    el.setAttribute('data-rendered', '0');
    el.classList.add('chart-error');
    el.textContent = message;
  }
  if (typeof Chart === 'undefined') {
    ids.forEach(function (id) { fail(id, 'The chart library is missing from this file: run `npm ci --prefix report`, then `faunae report` again.'); });
    return;
  }
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
  Chart.defaults.color = '#3b4148';
  var rendered = { id: 'faunaeRendered', afterRender: function (chart) { chart.canvas.parentNode.setAttribute('data-rendered', '1'); } };
  // Elimination rounds (eq. 10) as dashed vertical lines across the loss chart.
  var roundLines = {
    id: 'faunaeRounds',
    afterDatasetsDraw: function (chart, args, options) {
      var xs = (options && options.epochs) || [];
      if (!xs.length) return;
      var ctx = chart.ctx, area = chart.chartArea, scale = chart.scales.x;
      ctx.save();
      ctx.strokeStyle = '#7a4fa0'; ctx.lineWidth = 1.2; ctx.setLineDash([5, 4]);
      ctx.fillStyle = '#7a4fa0'; ctx.font = '11px ' + Chart.defaults.font.family; ctx.textAlign = 'center';
      var labelEnd = -Infinity;  // labels that would overlap the previous one are left out
      xs.forEach(function (x, i) {
        var px = scale.getPixelForValue(x);
        if (px < area.left - 0.5 || px > area.right + 0.5) return;
        ctx.beginPath(); ctx.moveTo(px, area.top + 12); ctx.lineTo(px, area.bottom); ctx.stroke();
        var label = xs.length > 9 ? String(i + 1) : 'round ' + (i + 1), half = ctx.measureText(label).width / 2 + 2;
        var lx = Math.min(Math.max(px, area.left + half), area.right - half);
        if (lx - half < labelEnd) return;
        ctx.fillText(label, lx, area.top + 9);
        labelEnd = lx + half + 3;
      });
      ctx.restore();
    }
  };
  function draw(id, config) {
    var el = document.getElementById(id);
    if (!el) return;
    try {
      config.plugins = (config.plugins || []).concat([rendered]);
      new Chart(el.querySelector('canvas'), config);
    } catch (e) {
      fail(id, 'The chart could not be drawn: ' + e.message);
    }
  }
  function fmtSi(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toPrecision(3) + 'G';
    if (a >= 1e6) return (v / 1e6).toPrecision(3) + 'M';
    if (a >= 1e3) return (v / 1e3).toPrecision(3) + 'k';
    return String(Math.round(v));
  }
  var pct = function (v) { return (100 * v).toFixed(1) + '%'; };

  var L = data.loss;
  if (L) {
    var datasets = [{
      label: 'loss of α_n', data: L.points, borderColor: '#2f6fb3', backgroundColor: '#2f6fb3',
      borderWidth: 2, pointRadius: L.points.length > 150 ? 0 : 2, pointHoverRadius: 4, tension: 0.15, order: 3
    }];
    if (L.train && L.train.length) datasets.push({
      label: 'training loss', data: L.train, borderColor: '#9aa1a9', backgroundColor: '#9aa1a9', borderDash: [4, 3],
      borderWidth: 1.5, pointRadius: 0, order: 4
    });
    datasets.push({ label: 'α0', data: L.alpha0, showLine: false, pointStyle: 'rectRot', pointRadius: 7,
                    backgroundColor: '#1b1f24', borderColor: '#1b1f24', order: 0 });
    datasets.push({ label: 'accepted mutation', data: L.accepted, showLine: false, pointStyle: 'triangle', pointRadius: 6,
                    backgroundColor: '#2e8b57', borderColor: '#2e8b57', order: 1 });
    datasets.push({ label: 'all mutations reverted', data: L.reverted, showLine: false, pointStyle: 'crossRot', pointRadius: 6,
                    borderWidth: 2.2, backgroundColor: '#c8423b', borderColor: '#c8423b', order: 2 });
    datasets.push({ label: 'elimination round', data: [], borderColor: '#7a4fa0', backgroundColor: '#7a4fa0',
                    borderDash: [5, 4], borderWidth: 1.2, pointStyle: 'line' });
    draw('loss-chart', {
      type: 'line',
      data: { datasets: datasets },
      options: {
        parsing: { xAxisKey: 'x', yAxisKey: 'y' },
        interaction: { mode: 'nearest', intersect: false, axis: 'x' },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'epoch' }, ticks: { precision: 0 }, min: 0, max: L.last_epoch },
          y: { title: { display: true, text: 'loss' }, grace: '3%' }
        },
        plugins: {
          faunaeRounds: { epochs: L.rounds },
          legend: { labels: { usePointStyle: true, boxHeight: 7, sort: function (a, b) { return a.datasetIndex - b.datasetIndex; } } },
          tooltip: { callbacks: { afterLabel: function (item) { return item.raw && item.raw.text ? item.raw.text : ''; } } }
        }
      },
      plugins: [roundLines]
    });
  }

  var C = data.cost;
  if (C) {
    var palette = { 'α0': '#9aa1a9', 'found': '#2f6fb3', 'random': '#e8a35a' };
    draw('cost-chart', {
      type: 'bar',
      data: {
        labels: ['parameters', 'FLOPs'],
        datasets: C.names.map(function (name, i) {
          return { label: name, data: [C.params_rel[i], C.flops_rel[i]], raw: [C.params[i], C.flops[i]],
                   backgroundColor: palette[name] || '#76b7b2', borderRadius: 4 };
        })
      },
      options: {
        scales: { y: { beginAtZero: true, title: { display: true, text: '% of α0' }, ticks: { callback: function (v) { return v + '%'; } } } },
        plugins: { tooltip: { callbacks: { label: function (item) {
          var raw = item.dataset.raw[item.dataIndex];
          return item.dataset.label + ': ' + (raw == null ? '–' : fmtSi(raw)) + ' (' + (item.raw == null ? '–' : item.raw.toFixed(1) + '% of α0') + ')';
        } } } }
      }
    });
  }

  var P = data.probe;
  if (P) {
    var colours = P.names.map(function (n) { return n === 'evolved' ? '#2f6fb3' : n === 'alpha0' ? '#9aa1a9' : n === 'random' ? '#e8a35a' : '#76b7b2'; });
    var sets = [{ label: 'linear evaluation', data: P.linear, backgroundColor: colours, borderRadius: 4 }];
    if (P.knn.some(function (v) { return v != null; }))
      sets.push({ label: 'kNN', data: P.knn, backgroundColor: colours.map(function (c) { return c + '88'; }), borderRadius: 4 });
    draw('probe-chart', {
      type: 'bar',
      data: { labels: P.labels, datasets: sets },
      options: {
        scales: { y: { beginAtZero: true, suggestedMax: 1, title: { display: true, text: 'accuracy' }, ticks: { callback: function (v) { return Math.round(100 * v) + '%'; } } } },
        plugins: { legend: { display: sets.length > 1 },
                   tooltip: { callbacks: { label: function (item) { return item.dataset.label + ': ' + (item.raw == null ? '–' : pct(item.raw)); } } } }
      }
    });
  }

  var T = data.train;
  if (T) {
    var tc = ['#2f6fb3', '#9aa1a9', '#e8a35a', '#59a14f', '#b07aa1'];
    draw('train-chart', {
      type: 'line',
      data: { datasets: T.map(function (s, i) {
        var c = s.name === 'evolved' ? '#2f6fb3' : s.name === 'alpha0' ? '#9aa1a9' : s.name === 'random' ? '#e8a35a' : tc[i % tc.length];
        return { label: s.label, data: s.points, borderColor: c, backgroundColor: c, borderWidth: 2, pointRadius: 2, tension: 0.15 };
      }) },
      options: { scales: { x: { type: 'linear', title: { display: true, text: 'epoch' }, ticks: { precision: 0 } },
                           y: { title: { display: true, text: 'loss' } } } }
    });
  }
  document.body.setAttribute('data-charts-done', '1');
})();
