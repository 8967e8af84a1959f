// oidc-provider 9 ships no type declarations; the support file annotates what it uses.
declare module 'oidc-provider';
