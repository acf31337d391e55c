// lossfilm viewer: draws the numbers in #lossfilm-data with plotly.js and plays the run.
// The numbers and the layout come from lossfilm/viewer/scene_data.py; nothing is fetched.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("lossfilm-data").textContent);
  var theme = data.theme, surf = data.surface, run = data.paths;
  var gd = document.getElementById("plot");
  var slider = document.getElementById("step"), playButton = document.getElementById("play");
  var speedSelect = document.getElementById("speed");
  var SECONDS_AT_1X = 12;  // the whole run plays in this long at speed 1x

  // ---- numbers -------------------------------------------------------------------------------
  function decode(array) {
    var text = atob(array.data), bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    var kind = {f4: Float32Array, f8: Float64Array, i4: Int32Array}[array.dtype];
    return new kind(bytes.buffer);
  }
  function rows(flat, nrows, ncols) {  // plotly's surface wants nested arrays, null for a hole
    var out = [];
    for (var r = 0; r < nrows; r++) {
      var row = new Array(ncols);
      for (var c = 0; c < ncols; c++) { var v = flat[r * ncols + c]; row[c] = isFinite(v) ? v : null; }
      out.push(row);
    }
    return out;
  }

  // The film's number formats (lossfilm/render/elements/hud.py), so the page and the film read the same.
  function pyExponent(text) { return text.replace(/e([+-])(\d)$/, "e$10$2"); }
  function roundHalfEven(v) {
    var r = Math.round(v);
    return Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r;
  }
  function grouped(n) { return n.toLocaleString("en-US", {maximumFractionDigits: 0}); }
  // Python's "{:.Nf}": like toFixed, but a value exactly halfway rounds to the even digit (0.125 -> "0.12"),
  // where toFixed rounds it up. A double that is exactly halfway has a short exact decimal expansion.
  function fixed(v, digits) {
    if (!isFinite(v)) return String(v);
    var text = Math.abs(v).toFixed(digits), exact = Math.abs(v).toFixed(Math.min(100, digits + 25));
    var rest = exact.slice(exact.length - 25);
    if (/^50*$/.test(rest)) {  // halfway: keep the truncated digits when their last digit is even
      var truncated = exact.slice(0, exact.length - 25).replace(/\.$/, "");
      if (Number(truncated.slice(-1)) % 2 === 0) text = truncated;
    }
    return (v < 0 && Number(text) !== 0 ? "-" : "") + text;
  }
  function formatLoss(v) {  // lossfilm.render.elements.hud.format_loss
    if (v === null || !isFinite(v)) return "n/a";
    var a = Math.abs(v);
    if ((v !== 0 && a < 1e-3) || a >= 1e6) return pyExponent(v.toExponential(2));
    if (a < 1000) {  // "{:.3g}": three significant digits, trailing zeros dropped
      var three = Number(fixed(v, Math.max(0, 2 - Math.floor(Math.log10(a || 1)))));
      return Math.abs(three) >= 1000 ? (v < 0 ? "-" : "") + "1e+03" : String(three);
    }
    return grouped(roundHalfEven(v));
  }

  // ---- paths -----------------------------------------------------------------------------------
  var paths = run.paths.map(function (p) {
    return {name: p.name, color: p.color, points: p.points, a: decode(p.a), b: decode(p.b), z: decode(p.z),
            steps: decode(p.steps), epochs: decode(p.epochs), lossTrue: decode(p.loss_true),
            lossPlane: decode(p.loss_plane), accuracy: decode(p.accuracy), frameIndex: decode(p.frame_index)};
  });
  var frameCount = run.frames, frameSteps = decode(run.frame_steps);
  var sharpness = run.sharpness && {steps: decode(run.sharpness.steps), values: decode(run.sharpness.values),
                                    threshold: run.sharpness.threshold};
  var race = paths.length > 1;

  // ---- traces ----------------------------------------------------------------------------------
  var alphas = Array.from(decode(surf.alphas)), betas = Array.from(decode(surf.betas));
  var ny = surf.shape[0], nx = surf.shape[1];
  var top = surf.top > 0 ? surf.top : 1, floorZ = surf.floor_z;
  var traces = [];
  function add(trace) { traces.push(trace); return traces.length - 1; }
  var iso = surf.isolines;
  add({
    type: "surface", name: "surface", x: alphas, y: betas, z: rows(decode(surf.z), ny, nx),
    customdata: rows(decode(surf.loss), nx, ny),  // read back as customdata[col][row] by plotly's hover
    colorscale: theme.colorscale, cmin: 0, cmax: top, showscale: true,
    colorbar: {title: {text: data.axes.z, side: "right", font: {color: theme.text}}, tickvals: surf.ticks.vals,
               ticktext: surf.ticks.text, tickfont: {color: theme.text}, len: 0.55, thickness: 14,
               outlinewidth: 0, x: 0.97},
    lighting: theme.lighting, lightposition: {x: -60000, y: 80000, z: 100000},
    contours: {z: iso ? {show: true, start: iso.start, end: iso.end, size: iso.size, color: theme.isoline,
                         width: 1, highlightcolor: theme.text} : {show: false},
               x: {highlight: false}, y: {highlight: false}},
    hovertemplate: "a %{x:.4g}<br>b %{y:.4g}<br>loss %{customdata:.4g}<extra></extra>",
    showlegend: false
  });
  var a0 = alphas[0], a1 = alphas[alphas.length - 1], b0 = betas[0], b1 = betas[betas.length - 1];
  add({type: "scatter3d", mode: "lines", name: "floor edge", x: [a0, a1, a1, a0, a0], y: [b0, b0, b1, b1, b0],
       z: [floorZ, floorZ, floorZ, floorZ, floorZ], line: {color: theme.edge, width: 2}, hoverinfo: "skip",
       showlegend: false});
  if (surf.floor_contours) {
    var fc = surf.floor_contours, fx = decode(fc.x);
    add({type: "scatter3d", mode: "lines", name: "contours", x: fx, y: decode(fc.y),
         z: new Float32Array(fx.length).fill(floorZ + 1e-4 * surf.width),
         line: {color: Array.from(decode(fc.color)), colorscale: theme.colorscale, cmin: 0, cmax: 1, width: 2},
         connectgaps: false, hoverinfo: "skip", showlegend: false});
  }
  // Per path: the whole path faint, the part travelled bright, the ball; then the start and end markers.
  paths.forEach(function (p) {
    if (!p.points) return;
    var colour = race ? p.color : theme.trail;
    add({type: "scatter3d", mode: "lines", name: p.name + " (whole run)", x: p.a, y: p.b, z: p.z,
         line: {color: colour, width: 2}, opacity: 0.35, hoverinfo: "skip", showlegend: false});
    p.trail = add({type: "scatter3d", mode: "lines", name: p.name, legendgroup: p.name, x: [], y: [], z: [],
                   line: {color: colour, width: 6}, hoverinfo: "skip", showlegend: race});
    p.ball = add({type: "scatter3d", mode: "markers", name: p.name + " ball", legendgroup: p.name,
                  x: [], y: [], z: [], marker: {size: 9, color: p.color, line: {color: theme.background, width: 1}},
                  hovertemplate: p.name + "<extra></extra>", showlegend: false});
  });
  var drawn = paths.filter(function (p) { return p.points; });
  if (drawn.length) {
    add({type: "scatter3d", mode: "markers", name: "start", x: drawn.map(function (p) { return p.a[0]; }),
         y: drawn.map(function (p) { return p.b[0]; }), z: drawn.map(function (p) { return p.z[0]; }),
         marker: {size: 8, symbol: "circle-open", color: theme.start, line: {width: 3}},
         hovertemplate: "start<extra></extra>", showlegend: false});
    add({type: "scatter3d", mode: "markers", name: "end", x: drawn.map(function (p) { return p.a[p.points - 1]; }),
         y: drawn.map(function (p) { return p.b[p.points - 1]; }),
         z: drawn.map(function (p) { return p.z[p.points - 1]; }),
         marker: {size: 6, symbol: "diamond", color: theme.end}, hovertemplate: "end<extra></extra>",
         showlegend: false});
  }

  // ---- layout ----------------------------------------------------------------------------------
  var width = surf.width, span = Math.max(top - floorZ, 1e-12);
  function axis(title, extra) {
    var base = {title: {text: title, font: {color: theme.text}}, color: theme.text_dim, gridcolor: theme.edge,
                zeroline: false, showbackground: false, showspikes: false};
    return Object.assign(base, extra || {});
  }
  var layout = {
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", margin: {l: 0, r: 0, t: 0, b: 0},
    font: {color: theme.text}, showlegend: race, hovermode: "closest",
    legend: {x: 0.99, xanchor: "right", y: 0.93, bgcolor: "rgba(0,0,0,0)", font: {color: theme.text}},  // under the mode bar
    hoverlabel: {bgcolor: theme.background, font: {color: theme.text}},
    scene: {
      xaxis: axis(data.axes.x), yaxis: axis(data.axes.y),
      // the z axis's bottom wall is the floor: it lies at the bottom of the range, under the surface
      zaxis: axis(data.axes.z, {tickvals: surf.ticks.vals, ticktext: surf.ticks.text,
                                range: [floorZ, top + 0.08 * span], showbackground: true,
                                backgroundcolor: theme.floor}),
      aspectmode: "manual",
      aspectratio: {x: (a1 - a0) / width, y: (b1 - b0) / width, z: (top + 0.08 * span - floorZ) / width},
      camera: data.cameras["three-quarter"], dragmode: "turntable"
    },
    uirevision: "keep"
  };
  var config = {displaylogo: false, responsive: true, scrollZoom: true};
  document.body.style.setProperty("--bg", theme.background);
  document.body.style.setProperty("--bg-top", theme.background_top);
  document.body.style.setProperty("--text", theme.text);
  document.body.style.setProperty("--text-dim", theme.text_dim);
  document.body.style.setProperty("--edge", theme.edge);
  document.body.style.setProperty("--ball", theme.ball);
  document.getElementById("hud-title").textContent = data.title;
  document.getElementById("notice").textContent = (data.notices || []).join(" ");

  // ---- the HUD ---------------------------------------------------------------------------------
  function lastMeasured(step) {  // lambda_max at the last measured step at or before this one
    var k = 0;
    for (var i = 0; i < sharpness.steps.length; i++) if (sharpness.steps[i] <= step) k = i;
    return sharpness.values[k];
  }
  function hudLines(frame) {
    if (!frameCount) return ["no path in this landscape: the surface alone"];
    var step = frameSteps[frame], lines = [];
    if (!race) {
      var p = paths[0], i = p.frameIndex[frame], first = "step " + grouped(roundHalfEven(p.steps[i]));
      if (isFinite(p.epochs[i])) first += "   epoch " + fixed(p.epochs[i], 2);
      lines.push(first);
      if (isFinite(p.lossTrue[i])) lines.push("loss " + formatLoss(p.lossTrue[i]));
      lines.push("loss on the plane " + formatLoss(p.lossPlane[i]));
      if (isFinite(p.accuracy[i])) lines.push("accuracy " + fixed(100 * p.accuracy[i], 1) + "%");
    } else {
      lines.push("step " + grouped(roundHalfEven(step)));
      paths.forEach(function (p) {
        if (!p.points) return;
        var i = p.frameIndex[frame], v = isFinite(p.lossTrue[i]) ? p.lossTrue[i] : p.lossPlane[i];
        lines.push({color: p.color, text: p.name + "   loss " + formatLoss(v)});
      });
    }
    if (sharpness) {
      lines.push("lambda_max " + formatLoss(lastMeasured(step)) +
                 (sharpness.threshold ? "   (" + sharpness.threshold + ")" : ""));
    }
    return lines;
  }
  function showHud(frame) {
    var box = document.getElementById("hud-lines");
    box.textContent = "";
    hudLines(frame).forEach(function (line) {
      var div = document.createElement("div");
      if (typeof line === "string") { div.textContent = line; } else {
        var dot = document.createElement("span");
        dot.className = "swatch"; dot.style.background = line.color;
        div.appendChild(dot); div.appendChild(document.createTextNode(line.text));
      }
      box.appendChild(div);
    });
  }

  // ---- the current step: slider, ball, trail ---------------------------------------------------
  var frame = Math.max(frameCount - 1, 0), wanted = null, drawing = false;
  function clamp(k) { return Math.min(Math.max(Math.round(k), 0), Math.max(frameCount - 1, 0)); }
  function traceUpdate(k) {
    var update = {x: [], y: [], z: []}, indices = [];
    drawn.forEach(function (p) {
      var i = p.frameIndex[k];
      update.x.push(p.a.subarray(0, i + 1), [p.a[i]]);
      update.y.push(p.b.subarray(0, i + 1), [p.b[i]]);
      update.z.push(p.z.subarray(0, i + 1), [p.z[i] + surf.ball_lift]);
      indices.push(p.trail, p.ball);
    });
    return {update: update, indices: indices};
  }
  // Draws the latest wanted frame; frames asked for while one draws are skipped, never queued.
  function show(k) {
    if (!frameCount) return Promise.resolve();
    frame = clamp(k);
    slider.value = frame;
    showHud(frame);
    wanted = frame;
    if (drawing) return drawing;
    drawing = (async function () {
      while (wanted !== null) {
        var change = traceUpdate(wanted);
        wanted = null;
        await Plotly.restyle(gd, change.update, change.indices);
      }
      drawing = false;
    })();
    return drawing;
  }

  // ---- playing ---------------------------------------------------------------------------------
  var playing = false, position = 0, last = null;
  function tick(now) {
    if (!playing) return;
    if (last !== null) {
      position += (now - last) / 1000 * frameCount / SECONDS_AT_1X * Number(speedSelect.value);
      if (position >= frameCount - 1) { position = frameCount - 1; pause(); }
      if (clamp(position) !== frame) show(position);
    }
    last = now;
    if (playing) requestAnimationFrame(tick);
  }
  function play() {
    if (playing || frameCount < 2) return;
    position = frame >= frameCount - 1 ? 0 : frame;
    playing = true; last = null; playButton.innerHTML = "&#10074;&#10074;";
    requestAnimationFrame(tick);
  }
  function pause() { playing = false; playButton.innerHTML = "&#9654;"; }
  function toggle() { if (playing) pause(); else play(); }

  // ---- camera ----------------------------------------------------------------------------------
  function setCamera(name) { return Plotly.relayout(gd, {"scene.camera": data.cameras[name]}); }

  // ---- wiring ----------------------------------------------------------------------------------
  slider.max = Math.max(frameCount - 1, 0);
  if (!frameCount) { slider.disabled = true; playButton.disabled = true; }
  slider.addEventListener("input", function () { pause(); show(Number(slider.value)); });
  playButton.addEventListener("click", function () { toggle(); playButton.blur(); });
  document.querySelectorAll("[data-camera]").forEach(function (button) {
    button.addEventListener("click", function () { setCamera(button.dataset.camera); button.blur(); });
  });
  document.addEventListener("keydown", function (event) {
    if (event.target === speedSelect) return;
    if (event.key === " ") { event.preventDefault(); toggle(); return; }
    if (event.target === slider) return;  // the slider moves itself with the arrow keys
    var by = event.shiftKey ? 10 : 1;
    if (event.key === "ArrowRight" || event.key === "ArrowUp") { event.preventDefault(); pause(); show(frame + by); }
    if (event.key === "ArrowLeft" || event.key === "ArrowDown") { event.preventDefault(); pause(); show(frame - by); }
    if (event.key === "Home") { pause(); show(0); }
    if (event.key === "End") { pause(); show(frameCount - 1); }
  });
  // A link can open the page at a step and a view: page.html#step=312&camera=top (step: a slider position).
  var hash = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (part) {
    var kv = part.split("="); if (kv[0]) hash[kv[0]] = decodeURIComponent(kv[1] || "");
  });
  if (hash.camera && data.cameras[hash.camera]) layout.scene.camera = data.cameras[hash.camera];
  if (hash.step !== undefined && isFinite(Number(hash.step))) frame = clamp(Number(hash.step));

  // Frames per second while the camera turns a full circle, one new camera each frame (the bench reads it).
  async function orbitBench(milliseconds) {
    var nextFrame = function () { return new Promise(function (r) { requestAnimationFrame(r); }); };
    var eye = data.cameras["three-quarter"].eye, radius = Math.hypot(eye.x, eye.y), count = 0;
    await nextFrame();
    var start = performance.now();
    while (performance.now() - start < milliseconds) {
      var angle = 2 * Math.PI * (performance.now() - start) / milliseconds;
      await Plotly.relayout(gd, {"scene.camera.eye": {x: radius * Math.cos(angle), y: radius * Math.sin(angle),
                                                       z: eye.z}});
      await nextFrame();
      count++;
    }
    var seconds = (performance.now() - start) / 1000;
    await setCamera("three-quarter");
    return {frames: count, seconds: seconds, fps: count / seconds};
  }

  var readout = document.getElementById("readout");
  Plotly.newPlot(gd, traces, layout, config).then(function () {
    gd.on("plotly_hover", function (event) {
      var point = event.points && event.points[0];
      if (!point || point.data.name !== "surface") return;
      readout.textContent = "a " + point.x.toPrecision(4) + "   b " + point.y.toPrecision(4) + "   loss " +
        formatLoss(point.customdata);
    });
    gd.on("plotly_unhover", function () { readout.textContent = ""; });
    return show(frame);
  }).then(function () {
    if (!frameCount) showHud(0);
    window.lossfilmViewer = {
      frames: frameCount, show: show, play: play, pause: pause, camera: setCamera, orbitBench: orbitBench,
      formatLoss: formatLoss, fixed: fixed,
      frame: function () { return frame; }, playing: function () { return playing; },
      hud: function () { return document.getElementById("hud-lines").innerText; }
    };
    document.body.dataset.ready = "1";
  });
})();
