/* A quick check of each chosen photo, on the phone, before it is sent: is it blurred,
   too dark, or washed out by glare? Focus is the commonest reason a skin photo cannot
   be used. The patient sees a hint and may keep the photo anyway.

   On a greyscale copy at most LONG_SIDE pixels long (drawn by the browser's canvas):
   - blur: the variance of the Laplacian (4-neighbour), the standard focus measure;
     a sharp picture has strong, fine edges, a blurred one has few. At 512 px the
     sensor's noise is averaged down below the fine detail of skin;
   - darkness: the mean luminance;
   - glare: the fraction of clipped highlights (pixels at or near white).
   The thresholds were tuned on tests/support/photo_quality_set.py; the hit rates are
   measured by tests/test_filerequests_quality.py. */
(function () {
  "use strict";

  var LONG_SIDE = 512;
  var THRESHOLDS = {
    // Laplacian variance (grey levels squared) at 512 px: the blurred set sits at 31-66
    // (sensor noise alone gives about 31), sharp skin from 42, text and texture above 1000.
    blurBelow: 38,
    // A high-contrast picture (printed text) keeps some Laplacian variance when blurred:
    // below softBlurBelow it is blurred too if its edges are weak for its contrast
    // (Laplacian variance under softEdgeRatio times the grey variance; sharp skin and
    // hands are 0.35 and up unless very contrasted, blurred text 0.09 to 0.2).
    softBlurBelow: 70,
    softEdgeRatio: 0.25,
    // Mean luminance, 0 to 1: the dark set is below 0.16, sharp photos of the darkest skin
    // tones in ordinary light from 0.22; a darkness hint for dark skin would be wrong.
    darkBelow: 0.17,
    // Fraction of clipped pixels: none in the sharp set, 3% and more in the glare set.
    glareAbove: 0.02,
    clipLevel: 250,
  };
  var HINTS = {
    blur: "This photo looks blurred: try again with the phone steady, in daylight.",
    dark: "This photo looks too dark: try again in daylight or a brighter room.",
    glare: "This photo has glare (a bright, washed-out patch): try again without the flash, out of direct light.",
  };

  /* The metrics of ImageData-like {width, height, data: RGBA bytes}. */
  function measure(image) {
    var width = image.width;
    var height = image.height;
    var data = image.data;
    var count = width * height;
    var grey = new Float32Array(count);
    var sum = 0;
    var clipped = 0;
    for (var i = 0, p = 0; i < count; i += 1, p += 4) {
      var value = 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
      grey[i] = value;
      sum += value;
      if (value >= THRESHOLDS.clipLevel) {
        clipped += 1;
      }
    }
    var lapSum = 0;
    var lapSquares = 0;
    var inner = 0;
    for (var y = 1; y < height - 1; y += 1) {
      var row = y * width;
      for (var x = 1; x < width - 1; x += 1) {
        var at = row + x;
        var laplacian = 4 * grey[at] - grey[at - 1] - grey[at + 1] - grey[at - width] - grey[at + width];
        lapSum += laplacian;
        lapSquares += laplacian * laplacian;
        inner += 1;
      }
    }
    var lapMean = inner ? lapSum / inner : 0;
    var mean = count ? sum / count : 0;
    var spread = 0;
    for (i = 0; i < count; i += 1) {
      spread += (grey[i] - mean) * (grey[i] - mean);
    }
    return {
      contrast: count ? Math.sqrt(spread / count) : 0,
      blur: inner ? lapSquares / inner - lapMean * lapMean : 0,
      luminance: count ? sum / count / 255 : 0,
      clipped: count ? clipped / count : 0,
      width: width,
      height: height,
    };
  }

  /* The problems these metrics show, most useful first. A dark photo is not judged for
     blur: its edges are faint because it is dark, and light is the first thing to fix. */
  function problemsOf(metrics) {
    if (metrics.luminance < THRESHOLDS.darkBelow) {
      return ["dark"];
    }
    var problems = [];
    if (metrics.clipped > THRESHOLDS.glareAbove) {
      problems.push("glare");
    }
    if (metrics.blur < THRESHOLDS.blurBelow || (metrics.blur < THRESHOLDS.softBlurBelow && metrics.blur < THRESHOLDS.softEdgeRatio * metrics.contrast * metrics.contrast)) {
      problems.push("blur");
    }
    return problems;
  }

  function decode(file) {
    if (window.createImageBitmap) {
      return window.createImageBitmap(file, { imageOrientation: "from-image" });
    }
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        URL.revokeObjectURL(url);
        resolve(img);
      };
      img.onerror = function () {
        URL.revokeObjectURL(url);
        reject(new Error("undecodable"));
      };
      img.src = url;
    });
  }

  function pixelsOf(picture) {
    var width = picture.width;
    var height = picture.height;
    var scale = Math.min(1, LONG_SIDE / Math.max(width, height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    var context = canvas.getContext("2d", { willReadFrequently: true });
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(picture, 0, 0, canvas.width, canvas.height);
    if (picture.close) {
      picture.close();
    }
    return context.getImageData(0, 0, canvas.width, canvas.height);
  }

  /* A promise of {metrics, problems, hint} for a photo, or null when this browser cannot
     decode it (HEIC outside Safari): no hint then, never a false one. */
  function assess(file) {
    return decode(file)
      .then(function (picture) {
        var metrics = measure(pixelsOf(picture));
        var problems = problemsOf(metrics);
        return { metrics: metrics, problems: problems, hint: problems.length ? HINTS[problems[0]] : null };
      })
      .catch(function () {
        return null;
      });
  }

  window.PhotoQuality = { assess: assess, measure: measure, problemsOf: problemsOf, THRESHOLDS: THRESHOLDS, HINTS: HINTS };
})();
