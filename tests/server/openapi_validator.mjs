// A small validator of responses against server/openapi.json: it finds the operation of a
// method and path, the schema of a status, and checks a JSON value against that schema. It
// knows the part of JSON Schema the document uses: $ref, type (with arrays and "null"), enum,
// const, properties, required, additionalProperties, items, minItems, maxItems, minimum,
// maximum, oneOf, allOf. A keyword it does not know is an error, so the document cannot use
// one that goes unchecked.
const known = new Set(['$ref', 'type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items',
  'minItems', 'maxItems', 'minimum', 'maximum', 'oneOf', 'allOf', 'description', 'format', 'pattern']);

export class OpenApi {
  constructor(document) {
    this.document = document;
    this.routes = Object.keys(document.paths).map((template) => ({
      template,
      regex: new RegExp('^' + template.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
    }));
  }

  resolve(schema) {
    while (schema && schema.$ref) {
      const parts = schema.$ref.replace(/^#\//, '').split('/');
      schema = parts.reduce((node, part) => node[part], this.document);
    }
    return schema;
  }

  // The operation for `method` on `path` (without the query); throws when undocumented.
  operation(method, path) {
    const route = this.routes.find((r) => r.regex.test(path));
    if (!route) throw new Error(`openapi: no path matches ${path}`);
    const operation = this.document.paths[route.template][method.toLowerCase()];
    if (!operation) throw new Error(`openapi: ${method} ${route.template} is not documented`);
    return operation;
  }

  // Checks a response: its status is documented for the operation, and a JSON body matches the
  // documented schema. Returns the list of problems (empty: valid).
  checkResponse(method, path, status, contentType, body) {
    let operation;
    try {
      operation = this.operation(method, path);
    } catch (error) {
      // A path or method the API does not have is answered by the error model alone (as the
      // document's description says): 401 before anything else, then 404 or 405.
      if (![401, 404, 405].includes(status)) return [error.message];
      return this.checkJson(this.document.components.schemas.Error, method, path, status, contentType, body);
    }
    const response = this.resolve(operation.responses[String(status)]);
    if (!response) return [`openapi: status ${status} is not documented for ${method} ${path}`];
    if (!response.content) return body === '' || body === undefined ? [] : [`${method} ${path} ${status}: a body where none is documented`];
    const type = (contentType || '').split(';')[0].trim();
    const media = response.content[type];
    if (!media) return [`${method} ${path} ${status}: content type '${type}' is not documented`];
    if (type !== 'application/json') return [];
    return this.checkJson(media.schema, method, path, status, contentType, body);
  }

  checkJson(schema, method, path, status, contentType, body) {
    if (!(contentType || '').startsWith('application/json')) return [`${method} ${path} ${status}: not JSON but '${contentType}'`];
    let value;
    try {
      value = JSON.parse(body);
    } catch (error) {
      return [`${method} ${path} ${status}: the body is not JSON: ${error.message}`];
    }
    const problems = [];
    this.check(schema, value, '$', problems);
    return problems;
  }

  check(schema, value, where, problems) {
    schema = this.resolve(schema);
    for (const keyword of Object.keys(schema))
      if (!known.has(keyword)) problems.push(`${where}: the validator does not know keyword '${keyword}'`);
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      if (!types.some((t) => typeMatches(t, value))) {
        problems.push(`${where}: expected ${types.join(' or ')}, got ${JSON.stringify(value)}`);
        return;
      }
    }
    if (schema.enum && !schema.enum.includes(value)) problems.push(`${where}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`);
    if ('const' in schema && value !== schema.const) problems.push(`${where}: expected ${JSON.stringify(schema.const)}`);
    if (typeof value === 'number') {
      if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${where}: ${value} < ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${where}: ${value} > ${schema.maximum}`);
    }
    if (Array.isArray(value)) {
      if (schema.minItems !== undefined && value.length < schema.minItems) problems.push(`${where}: fewer than ${schema.minItems} items`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) problems.push(`${where}: more than ${schema.maxItems} items`);
      if (schema.items) value.forEach((item, i) => this.check(schema.items, item, `${where}[${i}]`, problems));
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const name of schema.required || [])
        if (!(name in value)) problems.push(`${where}: required field '${name}' is missing`);
      const properties = schema.properties || {};
      for (const [name, item] of Object.entries(value)) {
        if (properties[name]) this.check(properties[name], item, `${where}.${name}`, problems);
        else if (schema.additionalProperties === false) problems.push(`${where}: field '${name}' is not documented`);
        else if (typeof schema.additionalProperties === 'object') this.check(schema.additionalProperties, item, `${where}.${name}`, problems);
      }
    }
    if (schema.allOf) for (const part of schema.allOf) this.check(part, value, where, problems);
    if (schema.oneOf) {
      const matching = schema.oneOf.filter((part) => {
        const inner = [];
        this.check(part, value, where, inner);
        return inner.length === 0;
      });
      if (matching.length !== 1) problems.push(`${where}: matches ${matching.length} of the oneOf alternatives, not exactly one`);
    }
  }
}

function typeMatches(type, value) {
  switch (type) {
    case 'null': return value === null;
    case 'boolean': return typeof value === 'boolean';
    case 'integer': return Number.isInteger(value);
    case 'number': return typeof value === 'number';
    case 'string': return typeof value === 'string';
    case 'array': return Array.isArray(value);
    case 'object': return value !== null && typeof value === 'object' && !Array.isArray(value);
    default: return false;
  }
}
