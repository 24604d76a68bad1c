// Shrinking a photo on the phone before it leaves it: a 12 MP photo (3 to 5 MB) takes
// minutes on a poor mobile signal, while 2,048 pixels on the longest side (about 3 MP)
// is enough for a clinician to judge a skin photo and sends in seconds.
//
// The browser decodes the photo turned upright from its EXIF orientation
// (createImageBitmap with imageOrientation "from-image"), draws it smaller on a canvas and
// encodes a JPEG at quality 0.85; the re-encode carries no metadata (no location, no
// device). A photo already small enough, or one this browser cannot decode (HEIC outside
// Safari), is sent as it is: the clinic's processing cleans and turns those.
(function () {
  "use strict";

  var MAX_SIDE = 2048;
  var QUALITY = 0.85;

  function jpegName(name) {
    var base = (name || "photo").replace(/\.[A-Za-z0-9]{1,5}$/, "");
    return base + ".jpg";
  }

  function asItIs(file) {
    return { blob: file, name: file.name || "photo.jpg", shrunk: false };
  }

  function decode(file) {
    if (!window.createImageBitmap) {
      return Promise.reject(new Error("no createImageBitmap"));
    }
    return window.createImageBitmap(file, { imageOrientation: "from-image" });
  }

  function encode(bitmap, width, height) {
    if (window.OffscreenCanvas) {
      var offscreen = new OffscreenCanvas(width, height);
      var offContext = offscreen.getContext("2d");
      offContext.imageSmoothingEnabled = true;
      offContext.imageSmoothingQuality = "high";
      offContext.drawImage(bitmap, 0, 0, width, height);
      return offscreen.convertToBlob({ type: "image/jpeg", quality: QUALITY });
    }
    var canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    var context = canvas.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, width, height);
    return new Promise(function (resolve, reject) {
      canvas.toBlob(
        function (blob) {
          canvas.width = canvas.height = 0; // free the pixels at once on small phones
          if (blob) {
            resolve(blob);
          } else {
            reject(new Error("toBlob gave nothing"));
          }
        },
        "image/jpeg",
        QUALITY
      );
    });
  }

  // {blob, name, shrunk, width, height}: the photo to send.
  function shrink(file) {
    var type = (file.type || "").toLowerCase();
    if (type && type.indexOf("image/") !== 0) {
      return Promise.resolve(asItIs(file));
    }
    return decode(file).then(
      function (bitmap) {
        var longest = Math.max(bitmap.width, bitmap.height);
        if (longest <= MAX_SIDE) {
          bitmap.close();
          return asItIs(file);
        }
        var scale = MAX_SIDE / longest;
        var width = Math.max(1, Math.round(bitmap.width * scale));
        var height = Math.max(1, Math.round(bitmap.height * scale));
        return encode(bitmap, width, height).then(
          function (blob) {
            bitmap.close();
            return { blob: blob, name: jpegName(file.name), shrunk: true, width: width, height: height };
          },
          function () {
            bitmap.close();
            return asItIs(file);
          }
        );
      },
      function () {
        return asItIs(file); // a type this browser cannot decode: the server decides
      }
    );
  }

  window.PhotoShrink = { shrink: shrink, MAX_SIDE: MAX_SIDE, QUALITY: QUALITY };
})();
