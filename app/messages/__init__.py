"""The words Klaxon sends and shows, pure and shared: the context a message is rendered from
(context), the channels' length limits (limits), the template filters and the wording the
pages share (filters, wording), the public guard (public_guard), rendering and the templates
check (render) and the incidents every template is tried against (fixtures). No Flask, Redis,
RQ or vendor SDK, and nothing of workers/: the pages, the post-mortem, the release phase and the
notification jobs all use it."""
