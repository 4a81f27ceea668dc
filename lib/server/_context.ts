import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { FrpsPorts } from './_ports';
import { claimName, derivedName, selectPods } from '../k8s/names';
import { omitUnstoredDefaults } from '../k8s/pod-defaults';

/**
 * What every part of one frps shares: the construct its objects belong to
 * (every part creates its objects in it, so their ids and paths stay those of
 * the FrpServer), its names, labels and replicas. @internal
 */
export interface ServerContext {
  /** The FrpServer construct. */
  readonly scope: Construct;
  /** Base name of the objects. */
  readonly name: string;
  /** Labels on every object. */
  readonly labels: { [key: string]: string };
  /** Labels that select every frps pod. */
  readonly podLabels: { [key: string]: string };
  /** Number of frps replicas. */
  readonly replicas: number;
  /** frps' own ports. */
  readonly ports: FrpsPorts;
}

/** Label telling frps replicas apart (`replicas` > 1). @internal */
export const REPLICA_LABEL = 'frp.io/frps-replica';

/** Metadata of an object of the server: a claimed name and its labels. @internal */
export function objectMeta(ctx: ServerContext, kind: string, name: string, labels = ctx.labels): { name: string; labels: { [key: string]: string } } {
  return { name: claimName(ctx.scope, kind, name), labels };
}

/** Name of replica `i`'s Deployment and control Service (the base name with one replica). @internal */
export function replicaName(ctx: ServerContext, i: number): string {
  return ctx.replicas === 1 ? ctx.name : derivedName(ctx.name, `-${i}`);
}

/** Labels of replica `i`'s objects (the server's labels with one replica). @internal */
export function replicaLabels(ctx: ServerContext, i: number): { [key: string]: string } {
  return ctx.replicas > 1 ? { ...ctx.labels, [REPLICA_LABEL]: String(i) } : ctx.labels;
}

/** The labels that select one replica's pods (all pods with one replica). @internal */
export function replicaSelector(ctx: ServerContext, i: number): { [key: string]: string } {
  return ctx.replicas === 1 ? ctx.podLabels : { ...ctx.podLabels, [REPLICA_LABEL]: String(i) };
}

/**
 * A Service of the server selecting its pods by `selector` (every frps pod by
 * default), without the defaults the API server does not store. @internal
 */
export function podService(ctx: ServerContext, id: string, props: kplus.ServiceProps, selector = ctx.podLabels): kplus.Service {
  const service = selectPods(new kplus.Service(ctx.scope, id, props), selector);
  omitUnstoredDefaults(service);
  return service;
}
