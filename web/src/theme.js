// theme.js - the theme before first paint: saved choice, else the system's. A classic
// script loaded by index.html's head, not inline: the daemon's Content-Security-Policy
// allows the UI's own files only (script-src 'self').
(function () {
  var t = null;
  try { t = localStorage.getItem('xapistat.theme'); } catch (e) {}
  if (t !== 'light' && t !== 'dark') t = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  document.documentElement.dataset.theme = t;
})();
