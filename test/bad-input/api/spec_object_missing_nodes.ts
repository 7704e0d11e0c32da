// expect: missing required field "nodes"
// path: nodes
// line: none
// A scenario may export a ready spec object; it has no call sites, so no line.
export default { name: 'spec_obj', links: [] };
