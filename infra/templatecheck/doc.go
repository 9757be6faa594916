// Package templatecheck holds the tests that hold template.yaml to the
// code. They check what CloudFormation will run: transform.py passes the
// template through the real SAM transform (aws-sam-translator, offline),
// and the tests read the resulting CloudFormation resources (and, for
// what the transform drops, the template as written). They check:
//
//   - every functions/<name> is deployed as <Name>Function on arm64
//     provided.al2023, built by the Makefile's build-<LogicalId> target with
//     make build's flags into a static bootstrap (build_test.go), and logs
//     to a log group with a retention period;
//   - the HTTP API's routes (and HEAD beside every GET) equal the route
//     list of shared/web/routes.go, with IAM authorization exactly on the
//     usage API, and a Lambda permission for each; the schedules and event
//     rules equal shared/jobs, each with its permission; the table's keys
//     and indexes equal shared/store's (template_test.go);
//   - every environment variable shared/config reads (derived from its
//     source) is set for each function that needs it, and every function
//     starts with exactly the template's variables (env_test.go);
//   - every AWS action each function calls is granted by its role on the
//     right resource and nothing else is (iam_test.go); the actions each
//     function actually sends when run against the embedded DynamoDB and
//     stand-ins for EventBridge and SES are all listed (observed_test.go);
//   - alarms for every function and the dead-letter queue, a dead-letter
//     queue and retry policy for every rule and schedule, the Cognito
//     sign-in, the S3 + CloudFront site and its / redirect (ops_test.go).
//
// The tests need python3 with aws-sam-translator (pip install cfn-lint
// brings it) and make; without them they fail and say so.
package templatecheck
