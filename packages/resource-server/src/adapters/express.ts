// Express 5 adapter: a middleware that puts the allow decision on `req.keybound`, or answers the
// refusal itself. Express strips the mount path from req.url; the public path is originalUrl.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AllowDecision } from '../decision.js';
import { nodeRequestFacts } from '../lib/node-request.js';
import type { ResourceServer } from '../protect.js';

declare global {
  namespace Express {
    interface Request {
      /** Set by the keybound middleware on allowed requests. */
      keybound?: AllowDecision;
    }
  }
}

function send(res: Response, status: number, headers: Record<string, string>, body: unknown): void {
  res.status(status).set(headers).json(body);
}

export function keyboundExpress(rs: ResourceServer): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const target = req.originalUrl;
    const wellKnown = rs.wellKnown(req.method, target);
    if (wellKnown !== undefined) {
      send(res, wellKnown.status, wellKnown.headers, wellKnown.body);
      return;
    }
    rs.protect(nodeRequestFacts(req, target)).then((decision) => {
      if (!decision.allow) {
        send(res, decision.status, decision.headers, decision.body);
        return;
      }
      req.keybound = decision;
      res.set(decision.responseHeaders);
      next();
    }, next);
  };
}
