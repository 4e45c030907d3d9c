#!/usr/bin/env node
/**
 * The CDK app: Dev, Staging and Prod stages of the data tier.
 *   npx cdk synth            # all stages (compliance checks included)
 *   npx cdk synth -c environments=dev
 */
import { buildApp } from '../lib/app';

buildApp().app.synth();
