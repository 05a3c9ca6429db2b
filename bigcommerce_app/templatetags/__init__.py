"""Template filters of the merchant console: codes in the merchant's words and console links carrying the token.

May import: bigcommerce_app's console modules (`console_labels`), Django. Never: ordergroove, feeds or the
project wiring.
"""
