/**
 * Fields of istio/api messages that more than one kind embeds, for the strict unknown-field checks
 * (reader.ts rejectUnknownFields): one list per message, whichever reader meets it.
 */

/** Destination (virtual_service.proto): a route's destination, a Sidecar's egressProxy. */
export const DESTINATION_FIELDS: readonly string[] = ['host', 'subset', 'port'];
/** PortSelector (virtual_service.proto): a destination's port, a DestinationRule port-level entry's port. */
export const PORT_SELECTOR_FIELDS: readonly string[] = ['number'];
/** Port (gateway.proto), ServicePort (service_entry.proto) and SidecarPort (sidecar.proto): the same four fields. */
export const PORT_FIELDS: readonly string[] = ['number', 'protocol', 'name', 'targetPort'];
