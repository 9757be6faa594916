// Package templatecheck holds the tests that hold template.yaml to the
// code. SAM CLI does not run here, so they parse the template with
// goformation (and, for what its types cannot express, as raw JSON with the
// intrinsic functions as written) and check:
//
//   - every function, route (with its auth), schedule, rule and table key
//     in one exists in the other (template_test.go);
//   - every environment variable shared/config reads (derived from its
//     source) is set for each function that needs it, and every function
//     starts with exactly the template's variables (env_test.go);
//   - every AWS action each function calls is granted on the right resource,
//     nothing more beyond what a SAM policy template bundles, and the
//     read-only functions can write nothing (iam_test.go); the actions each
//     function actually sends when run against the embedded DynamoDB and
//     stand-ins for EventBridge and SES are all listed (observed_test.go);
//   - alarms for every function and the dead-letter queue, a dead-letter
//     queue and retry policy for every asynchronous event source, the
//     Cognito sign-in and the S3 + CloudFront site (ops_test.go).
package templatecheck
