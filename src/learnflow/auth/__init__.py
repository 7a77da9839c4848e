"""Who is calling (authentication) and what they may do (authorisation).

``identity`` names roles and the caller; ``access`` is how every route states who may call it, so the
authorisation matrix in the tests can be generated from the application's routes.
"""
