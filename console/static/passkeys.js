// Leadwire console: passkeys (WebAuthn). The server sends the options as JSON, binary values in base64url; this
// file turns them into what navigator.credentials takes, and the browser's answer back into JSON for the server.
// Without it (no JavaScript, or a browser without passkeys) the buttons stay hidden and passwords work as ever.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) return;

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function post(url, fields) {
    var body = new FormData();
    Object.keys(fields).forEach(function (name) { body.append(name, fields[name]); });
    return fetch(url, {method: "POST", body: body, credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) throw new Error(answer.detail || "the server answered " + response.status);
          return answer;
        });
      });
  }

  function descriptors(list) {
    return (list || []).map(function (each) { return Object.assign({}, each, {id: toBytes(each.id)}); });
  }

  function creation(options) {
    options.challenge = toBytes(options.challenge);
    options.user.id = toBytes(options.user.id);
    options.excludeCredentials = descriptors(options.excludeCredentials);
    return {publicKey: options};
  }

  function request(options) {
    options.challenge = toBytes(options.challenge);
    options.allowCredentials = descriptors(options.allowCredentials);
    return {publicKey: options};
  }

  function made(credential) {
    var response = credential.response;
    return JSON.stringify({
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toText(response.clientDataJSON),
        attestationObject: toText(response.attestationObject),
        transports: response.getTransports ? response.getTransports() : []
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || null
    });
  }

  function used(credential) {
    var response = credential.response;
    return JSON.stringify({
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: {
        clientDataJSON: toText(response.clientDataJSON),
        authenticatorData: toText(response.authenticatorData),
        signature: toText(response.signature),
        userHandle: response.userHandle ? toText(response.userHandle) : null
      },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || null
    });
  }

  // Each button names where its options come from (data-options), where the answer goes (data-finish), and the
  // session's CSRF token when there is a session (data-csrf). The server's answer says where to go next.
  function wire(button, ceremony) {
    var box = button.closest("[hidden]");
    if (box) box.hidden = false;
    var status = button.parentElement.querySelector("[data-passkey-status]");
    var csrf = button.getAttribute("data-csrf");
    button.addEventListener("click", function () {
      var fields = csrf ? {csrf: csrf} : {};
      button.disabled = true;
      if (status) status.textContent = "Waiting for your passkey…";
      post(button.getAttribute("data-options"), fields)
        .then(function (options) { return ceremony(options); })
        .then(function (answer) {
          fields.credential = answer;
          var name = document.getElementById("passkey-name");
          if (name) fields.name = name.value;
          return post(button.getAttribute("data-finish"), fields);
        })
        .then(function (answer) { window.location.assign(answer.redirect); })
        .catch(function (error) {
          button.disabled = false;
          if (!status) return;
          status.textContent = error && error.name === "NotAllowedError"
            ? "Cancelled, or no passkey of this account is on this device."
            : "That did not work: " + error.message + ".";
        });
    });
  }

  document.querySelectorAll("[data-passkey-add]").forEach(function (button) {
    wire(button, function (options) { return navigator.credentials.create(creation(options)).then(made); });
  });
  document.querySelectorAll("[data-passkey-verify]").forEach(function (button) {
    wire(button, function (options) { return navigator.credentials.get(request(options)).then(used); });
  });
})();
