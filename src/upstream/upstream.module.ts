import { Global, Module } from '@nestjs/common';
import { UpstreamClient } from './upstream.client.js';
import { EgressDispatchers } from './egress-dispatchers.js';

@Global()
@Module({ providers: [UpstreamClient, EgressDispatchers], exports: [UpstreamClient, EgressDispatchers] })
export class UpstreamModule {}
