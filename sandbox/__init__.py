"""A local sandbox: the synthesized stacks deployed into moto_server on 127.0.0.1, and the runbook
rehearsed against them (`make sandbox`). See the README's "Sandbox" section for what it proves."""
