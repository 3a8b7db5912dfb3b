/*
 * Offline support for book pages that embed ipywidgets (rnnlab).
 *
 * myst-nb loads, on pages whose notebook stored widget state (see nb_ipywidgets_js in _config.yml):
 *   vendor/require.js  ->  this file  ->  vendor/html-manager/embed-amd.js
 * all from the site itself. This file does two things:
 *
 * 1. Fonts and modules from this site. The modules bundled in embed-amd.js work out where their font
 *    files live from the URL require.js gives each module name (webpack's public path). Without
 *    `paths`, require.js would answer "<page folder>/@jupyter-widgets/html-manager/dist/..." and the
 *    fonts would 404; mapping every module name to the bundle puts them next to embed-amd.js.
 *
 * 2. A MathJax 2 shim. @jupyter-widgets/html-manager 1.0.x typesets widget labels by calling
 *    MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]), the MathJax 2 API, but the book loads
 *    MathJax 3, which has no MathJax.Hub: without the shim every widget label throws a TypeError.
 */
(function () {
  "use strict";

  // Sphinx >= 7.2 writes the relative path from this page to the site root on <html>.
  var root = document.documentElement.getAttribute("data-content_root") || "./";
  var dist = root + "_static/vendor/html-manager/";

  window.__jupyter_widgets_assets_path__ = dist;

  if (typeof window.requirejs === "function") {
    var bundle = dist + "embed-amd"; // require.js adds ".js"
    var paths = {};
    [
      "@jupyter-widgets/base",
      "@jupyter-widgets/base7",
      "@jupyter-widgets/controls",
      "@jupyter-widgets/controls7",
      "@jupyter-widgets/output",
      "@jupyter-widgets/html-manager",
      "@jupyter-widgets/html-manager/dist/libembed-amd",
    ].forEach(function (name) {
      paths[name] = bundle;
    });
    window.requirejs.config({ paths: paths });
  } else {
    console.warn("rnnlab widgets-offline.js: require.js is not loaded; widgets will not render");
  }

  function typesetLater(element) {
    var mathjax = window.MathJax;
    var ready = (mathjax.startup && mathjax.startup.promise) || Promise.resolve();
    ready
      .then(function () {
        return window.MathJax.typesetPromise(element ? [element] : undefined);
      })
      .catch(function (err) {
        console.warn("rnnlab widgets-offline.js: MathJax could not typeset a widget label", err);
      });
  }

  function installMathJax2Shim() {
    var mathjax = window.MathJax;
    // Only where MathJax 3 is on the page (Sphinx loads it only on pages with equations);
    // without window.MathJax the widget manager skips typesetting by itself.
    if (!mathjax || mathjax.Hub || String(mathjax.version || "").charAt(0) !== "3") {
      return;
    }
    mathjax.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          if (Array.isArray(job) && job[0] === "Typeset") {
            typesetLater(job[2]);
          } else if (typeof job === "function") {
            job();
          }
        });
      },
    };
  }

  // MathJax 3 is a deferred script: it has run by DOMContentLoaded, and widgets render later (on load).
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", installMathJax2Shim);
  } else {
    installMathJax2Shim();
  }
})();
