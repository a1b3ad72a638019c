/** The model registry's public surface (glossary and file map: docs/registry.md). */
export * from './control.js';
export * from './errors.js';
export * from './artifacts.js';
export * from './registry.js';
export * from './catalog.js';
export * from './vehicle-kind.js';
export * from './config.js';
export { openRegistry, createRegistryComponents, type RegistryHostConfig, type RegistryParts, type RegistryDeps } from './component.js';
export { RegistryClient, RegistryClientError, DEFAULT_REGISTRY_URL } from './client.js';
