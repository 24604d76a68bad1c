/* What a chosen file really is, from its first bytes, as the server decides it
   (files/pipeline/sniffing.py): JPEG, PNG, WebP, HEIC and HEIF photos are accepted; anything
   else is refused on the phone, before a byte is sent, in words a patient understands.
   The server checks again: this only saves the patient a wasted upload. */
(function () {
  "use strict";

  var HEAD_BYTES = 512;
  var HEIC_BRANDS = ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs"];
  var HEIF_BRANDS = ["mif1", "msf1"];
  var VIDEO_BRANDS = ["isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "qt  ", "m4v ", "3gp4", "3gp5", "3gp6", "3g2a", "dash", "crx "];
  var CHOOSE = " Please choose a photo.";

  function ascii(bytes, start, end) {
    var text = "";
    for (var i = start; i < Math.min(end, bytes.length); i += 1) {
      text += String.fromCharCode(bytes[i]);
    }
    return text;
  }

  function startsWith(bytes, signature) {
    if (bytes.length < signature.length) {
      return false;
    }
    for (var i = 0; i < signature.length; i += 1) {
      if (bytes[i] !== signature[i]) {
        return false;
      }
    }
    return true;
  }

  function isoBrands(bytes) {
    var boxSize = ((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3];
    var brands = [ascii(bytes, 8, 12)];
    for (var i = 16; i + 4 <= Math.min(boxSize, bytes.length, 256); i += 4) {
      brands.push(ascii(bytes, i, i + 4));
    }
    return brands;
  }

  function anyOf(brands, wanted) {
    return brands.some(function (brand) {
      return wanted.indexOf(brand) >= 0;
    });
  }

  /* {accepted: true, type} or {accepted: false, reason} for the first bytes of a file. */
  function judge(bytes) {
    if (!bytes.length) {
      return { accepted: false, reason: "This file is empty. Please take the photo again." };
    }
    if (startsWith(bytes, [0xff, 0xd8, 0xff])) {
      return { accepted: true, type: "image/jpeg" };
    }
    if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
      return { accepted: true, type: "image/png" };
    }
    if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "WEBP") {
      return { accepted: true, type: "image/webp" };
    }
    if (ascii(bytes, 4, 8) === "ftyp") {
      var brands = isoBrands(bytes);
      if (anyOf(brands, ["avif", "avis"])) {
        return { accepted: false, reason: "This is an AVIF picture, which the clinic cannot open. Please choose a JPEG, PNG or HEIC photo." };
      }
      if (anyOf(brands, HEIC_BRANDS)) {
        return { accepted: true, type: "image/heic" };
      }
      if (HEIF_BRANDS.indexOf(brands[0]) >= 0) {
        return { accepted: true, type: "image/heif" };
      }
      if (anyOf(brands, VIDEO_BRANDS)) {
        return { accepted: false, reason: "This is a video, not a photo." + CHOOSE };
      }
      return { accepted: false, reason: "This is not a photo the clinic can open." + CHOOSE };
    }
    if (ascii(bytes, 0, 5) === "%PDF-") {
      return { accepted: false, reason: "This is a PDF document, not a photo." + CHOOSE };
    }
    if (ascii(bytes, 0, 4) === "GIF8") {
      return { accepted: false, reason: "This is a GIF picture, which the clinic cannot accept." + CHOOSE };
    }
    if (ascii(bytes, 0, 2) === "BM" || startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
      return { accepted: false, reason: "This picture is in a format the clinic cannot open (BMP or TIFF). Please choose a JPEG, PNG or HEIC photo." };
    }
    if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
      return { accepted: false, reason: "This is a document or a compressed folder (such as Word or ZIP), not a photo." + CHOOSE };
    }
    if (startsWith(bytes, [0xd0, 0xcf, 0x11, 0xe0])) {
      return { accepted: false, reason: "This is an Office document, not a photo." + CHOOSE };
    }
    if (ascii(bytes, 0, 4) === "Rar!" || startsWith(bytes, [0x37, 0x7a, 0xbc, 0xaf]) || startsWith(bytes, [0x1f, 0x8b])) {
      return { accepted: false, reason: "This is a compressed folder, not a photo." + CHOOSE };
    }
    if (ascii(bytes, 0, 2) === "MZ" || startsWith(bytes, [0x7f, 0x45, 0x4c, 0x46])) {
      return { accepted: false, reason: "This is a program, not a photo." + CHOOSE };
    }
    var text = ascii(bytes, 0, 256).replace(/^\uFEFF|^\xEF\xBB\xBF/, "").replace(/^\s+/, "").toLowerCase();
    if (text.indexOf("<svg") >= 0 || (text.indexOf("<?xml") === 0 && ascii(bytes, 0, bytes.length).toLowerCase().indexOf("<svg") >= 0)) {
      return { accepted: false, reason: "This is a drawing file (SVG), not a photo." + CHOOSE };
    }
    if (text.charAt(0) === "<") {
      return { accepted: false, reason: "This is a web page or text file, not a photo." + CHOOSE };
    }
    if (ascii(bytes, 4, 8) === "moov" || ascii(bytes, 4, 8) === "mdat" || startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
      return { accepted: false, reason: "This is a video, not a photo." + CHOOSE };
    }
    return { accepted: false, reason: "This is not a photo the clinic can open." + CHOOSE };
  }

  /* A promise of the judgement on a File (or Blob): only its first bytes are read. */
  function check(file) {
    var head = file.slice(0, HEAD_BYTES);
    var read = head.arrayBuffer
      ? head.arrayBuffer()
      : new Promise(function (resolve, reject) {
          var reader = new FileReader();
          reader.onload = function () {
            resolve(reader.result);
          };
          reader.onerror = reject;
          reader.readAsArrayBuffer(head);
        });
    return read.then(function (buffer) {
      return judge(new Uint8Array(buffer));
    });
  }

  window.PhotoFileType = { check: check, judge: judge };
})();
