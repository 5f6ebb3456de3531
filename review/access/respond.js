// Preloaded into the Node process of CDK's custom-resource handler
// (review/access/handler.py, for make test and the sandbox): CloudFormation's pre-signed S3 URL for the response
// does not exist here, so the handler's PUT to it is printed on stdout instead, for the caller
// to read as CloudFormation reads the object. Nothing else of the handler is changed.
"use strict";
const https = require("https");
const { EventEmitter } = require("events");

https.request = (options, callback) => {
  const request = new EventEmitter();
  const chunks = [];
  request.write = (chunk) => { chunks.push(Buffer.from(chunk)); return true; };
  request.end = () => {
    process.stdout.write(`\nCFN-RESPONSE ${Buffer.concat(chunks).toString("utf8")}\n`);
    const response = new EventEmitter();
    response.statusCode = 200;
    response.resume = () => response; // the provider entrypoint drains the body
    response.setEncoding = () => response;
    if (callback) callback(response);
    response.emit("end");
  };
  return request;
};
