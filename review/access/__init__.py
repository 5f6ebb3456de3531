"""What AWS does on the stacks' behalf, checked offline on the synthesized templates.

`policy` decides one request the way AWS's policy evaluation logic documents it; `account`
reads a synthesis's templates into the roles, keys and resource policies a real account would
hold; `acts` is the table: each row an act AWS performs for us, the permissions its
documentation names, and the requests that act makes against these templates.
"""
